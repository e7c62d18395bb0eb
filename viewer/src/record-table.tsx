import type { AuditRecord } from './api.js';
import { formatMs, formatTime, principalOf, statusClass } from './format.js';

interface Props {
  rows: AuditRecord[];
  loading: boolean;
  /** Ids the live tail just added, highlighted. */
  fresh: ReadonlySet<string>;
  onOpen: (record: AuditRecord) => void;
  canBack: boolean;
  canForward: boolean;
  onBack: () => void;
  onForward: () => void;
  pageNumber: number;
}

/** Newest first; a row opens its record on click, Enter or Space. Every value is rendered as text. */
export function RecordTable({ rows, loading, fresh, onOpen, canBack, canForward, onBack, onForward, pageNumber }: Props) {
  const openOnKey = (record: AuditRecord) => (e: KeyboardEvent) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onOpen(record);
    }
  };
  return (
    <section class="records" aria-label="Requests" aria-busy={loading}>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Recorded requests, newest first. Select a row to see the whole record.</caption>
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th><th scope="col">Principal</th><th scope="col">Method</th><th scope="col">Path</th>
              <th scope="col">Status</th><th scope="col" class="num">Duration</th><th scope="col">Client IP</th><th scope="col">Country</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const principal = principalOf(r);
              return (
                <tr key={r.id} tabIndex={0} class={fresh.has(r.id) ? 'fresh' : undefined} onClick={() => onOpen(r)} onKeyDown={openOnKey(r)}
                  aria-label={`${r.method} ${r.path}, status ${r.statusCode}, at ${formatTime(r.createdAt)}`}>
                  <td class="time">{formatTime(r.createdAt)}</td>
                  <td><span class="ptype">{principal.type}</span> <span class="pid">{principal.id}</span></td>
                  <td class="method">{r.method}</td>
                  <td class="path"><span class="p">{r.path}</span>{r.routePattern && r.routePattern !== r.path && <span class="route">{r.routePattern}</span>}</td>
                  <td><span class={`status ${statusClass(r.statusCode)}`}>{r.statusCode || '–'}</span></td>
                  <td class="num">{formatMs(r.durationMs)}</td>
                  <td>{r.clientIp}</td>
                  <td>{r.country ?? ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {loading && <p class="state" role="status">Loading…</p>}
      {!loading && rows.length === 0 && <p class="state empty" role="status">No requests match these filters in this time range.</p>}
      <nav class="pager" aria-label="Pages">
        <button type="button" onClick={onBack} disabled={!canBack}>← Newer</button>
        <span>Page {pageNumber}</span>
        <button type="button" onClick={onForward} disabled={!canForward}>Older →</button>
      </nav>
    </section>
  );
}
