import { useCallback, useEffect, useState } from 'preact/hooks';
import { download, getData, type ApiPaths, type AuditRecord, type RecordsPage, type Stats } from './api.js';
import { Charts } from './charts.js';
import { Drawer } from './drawer.js';
import { FilterBar } from './filter-bar.js';
import { apiParams, exportParams, filtersFromUrl, filtersToUrl, timeBounds, type Filters } from './filters.js';
import { RecordTable } from './record-table.js';
import { useLiveTail } from './live-tail.js';

const PAGE_SIZE = 50;
const NONE: AuditRecord[] = [];

interface Props {
  paths: ApiPaths;
  apiKey: string;
  onSignOut: () => void;
}

/** A view: the filters and the time range they meant when applied (presets are pinned until refreshed). */
interface View {
  filters: Filters;
  bounds: { fromMs: number; toMs: number };
}

function viewOf(filters: Filters): View {
  return { filters, bounds: timeBounds(filters, Date.now()) };
}

export function Viewer({ paths, apiKey, onSignOut }: Props) {
  const [view, setView] = useState<View>(() => viewOf(filtersFromUrl(location.search)));
  /** Cursors of the pages before the one shown (for Back), and the one shown (undefined: the first page). */
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<RecordsPage | null>(null);
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [selected, setSelected] = useState<AuditRecord | null>(null);
  const cursor = cursors[cursors.length - 1];
  const failed = useCallback((err: unknown) => {
    if ((err as Error).name === 'AbortError') return;
    setError((err as Error).message);
  }, []);

  useEffect(() => {
    const onPop = () => {
      setView(viewOf(filtersFromUrl(location.search)));
      setCursors([undefined]);
    };
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  useEffect(() => {
    const abort = new AbortController();
    const params = apiParams(view.filters, view.bounds);
    params.set('limit', String(PAGE_SIZE));
    if (cursor) params.set('cursor', cursor);
    setError(null);
    setPage(null);
    getData<RecordsPage>(paths.records, params, apiKey, abort.signal).then(setPage, failed);
    return () => abort.abort();
  }, [view, cursor, paths, apiKey, failed]);

  useEffect(() => {
    const abort = new AbortController();
    setStats(null);
    getData<Stats>(paths.stats, apiParams(view.filters, view.bounds), apiKey, abort.signal).then(setStats, failed);
    return () => abort.abort();
  }, [view, paths, apiKey, failed]);

  const tail = useLiveTail({ paths, apiKey, filters: view.filters, shown: page?.items ?? NONE, onError: failed });
  const rows = cursors.length === 1 ? [...tail.records, ...(page?.items ?? [])] : page?.items ?? [];

  const apply = (filters: Filters) => {
    history.pushState(null, '', location.pathname + filtersToUrl(filters));
    setView(viewOf(filters));
    setCursors([undefined]);
    tail.reset();
  };
  const exportAs = (format: 'ndjson' | 'csv') => {
    const params = exportParams(view.filters, view.bounds, format);
    if (typeof params === 'string') return setNotice(`Export unavailable: ${params}.`);
    setNotice(null);
    download(paths.export, params, apiKey, `audit-logs.${format}`).catch(failed);
  };

  return (
    <div class="viewer">
      <header class="top">
        <h1>Audit trail</h1>
        <div class="actions">
          <button type="button" aria-pressed={tail.on} onClick={() => { setCursors([undefined]); tail.toggle(); }}>
            {tail.on ? 'Stop live tail' : 'Live tail'}
          </button>
          <button type="button" onClick={() => exportAs('ndjson')}>Export NDJSON</button>
          <button type="button" onClick={() => exportAs('csv')}>Export CSV</button>
          <button type="button" onClick={onSignOut}>Sign out</button>
        </div>
      </header>
      <FilterBar filters={view.filters} onApply={apply} onRefresh={() => apply(view.filters)} />
      {notice && <p class="notice" role="status">{notice}</p>}
      {tail.overflowed && <p class="notice" role="status">Live tail skipped records: over 1,000 arrived in one poll. Refresh lists every one.</p>}
      {error && <p class="error" role="alert">{error}</p>}
      <Charts stats={stats} />
      <RecordTable
        rows={rows}
        loading={page === null && error === null}
        fresh={tail.fresh}
        onOpen={setSelected}
        canBack={cursors.length > 1}
        canForward={Boolean(page?.hasMore && page.nextCursor)}
        onBack={() => setCursors(cursors.slice(0, -1))}
        onForward={() => page?.nextCursor && setCursors([...cursors, page.nextCursor])}
        pageNumber={cursors.length}
      />
      {selected && <Drawer record={selected} onClose={() => setSelected(null)} />}
    </div>
  );
}
