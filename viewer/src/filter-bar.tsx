import { useEffect, useState } from 'preact/hooks';
import { isoToLocalInput, localInputToIso, type Filters, type PrincipalKind, type Range } from './filters.js';

interface Props {
  filters: Filters;
  onApply: (filters: Filters) => void;
  onRefresh: () => void;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const RANGE_LABELS: Record<Range, string> = { '15m': 'Last 15 min', '1h': 'Last hour', '24h': 'Last 24 h', '7d': 'Last 7 days', custom: 'Custom' };
const KIND_LABELS: Record<PrincipalKind, string> = { apiKeyId: 'API key', serviceAccountId: 'Service account', userId: 'User' };

/** The filter form: edits a draft, applied on submit (the range preset applies at once). */
export function FilterBar({ filters, onApply, onRefresh }: Props) {
  const [draft, setDraft] = useState(filters);
  useEffect(() => setDraft(filters), [filters]);
  const set = <K extends keyof Filters>(name: K, value: Filters[K]) => setDraft({ ...draft, [name]: value });
  const text = (name: keyof Filters) => (e: Event) => set(name, (e.currentTarget as HTMLInputElement).value);
  const submit = (event: Event) => {
    event.preventDefault();
    onApply(draft);
  };
  return (
    <form class="filters" onSubmit={submit} aria-label="Filters">
      <div class="field">
        <label for="f-range">Time</label>
        <select id="f-range" value={draft.range} onChange={(e) => {
          const range = e.currentTarget.value as Range;
          if (range === 'custom') return set('range', range);
          onApply({ ...draft, range });
        }}>
          {(Object.keys(RANGE_LABELS) as Range[]).map((r) => <option value={r} key={r}>{RANGE_LABELS[r]}</option>)}
        </select>
      </div>
      {draft.range === 'custom' && (
        <>
          <div class="field">
            <label for="f-from">From</label>
            <input id="f-from" type="datetime-local" value={isoToLocalInput(draft.from)}
              onInput={(e) => set('from', localInputToIso(e.currentTarget.value))} />
          </div>
          <div class="field">
            <label for="f-to">To</label>
            <input id="f-to" type="datetime-local" value={isoToLocalInput(draft.to)}
              onInput={(e) => set('to', localInputToIso(e.currentTarget.value))} />
          </div>
        </>
      )}
      <div class="field">
        <label for="f-method">Method</label>
        <select id="f-method" value={draft.method} onChange={text('method')}>
          <option value="">Any</option>
          {METHODS.map((m) => <option value={m} key={m}>{m}</option>)}
        </select>
      </div>
      <div class="field narrow">
        <label for="f-status">Status</label>
        <input id="f-status" value={draft.status} onInput={text('status')} placeholder="404 or 4xx" inputMode="numeric"
          pattern="[0-9]{3}|[1-5][xX][xX]" title="a status code such as 404, or a class such as 4xx" />
      </div>
      <div class="field">
        <label for="f-path">Path</label>
        <input id="f-path" value={draft.path} onInput={text('path')} placeholder="/v1/items" />
      </div>
      <div class="field">
        <label for="f-route">Route</label>
        <input id="f-route" value={draft.route} onInput={text('route')} placeholder="/v1/items/{id}" />
      </div>
      <div class="field">
        <label for="f-kind">Principal</label>
        <div class="joined">
          <select id="f-kind" aria-label="Principal type" value={draft.principalKind}
            onChange={(e) => set('principalKind', e.currentTarget.value as PrincipalKind)}>
            {(Object.keys(KIND_LABELS) as PrincipalKind[]).map((k) => <option value={k} key={k}>{KIND_LABELS[k]}</option>)}
          </select>
          <input id="f-principal" aria-label="Principal id" value={draft.principal} onInput={text('principal')} placeholder="id" />
        </div>
      </div>
      <div class="field">
        <label for="f-org">Organization</label>
        <input id="f-org" value={draft.organization} onInput={text('organization')} placeholder="own" />
      </div>
      <div class="buttons">
        <button type="submit" class="primary">Apply</button>
        <button type="button" onClick={onRefresh} title="Fetch again; a preset range moves to now">Refresh</button>
      </div>
    </form>
  );
}
