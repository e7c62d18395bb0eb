import { useEffect, useRef, useState } from 'preact/hooks';
import { getData, type ApiPaths, type AuditRecord, type RecordsPage } from './api.js';
import { apiParams, type Filters } from './filters.js';

const POLL_MS = 2_000;
/** Rows kept at the top while tailing; older ones remain reachable by paging after the tail stops. */
const KEEP = 500;
/** Pages of 100 read per poll: a burst of up to 1,000 matching requests in one interval is shown whole. */
const PAGES_PER_POLL = 10;

interface Options {
  paths: ApiPaths;
  apiKey: string;
  filters: Filters;
  /** The page shown under the tail, newest first. */
  shown: readonly AuditRecord[];
  onError: (err: unknown) => void;
}

type Query = Pick<Options, 'paths' | 'apiKey' | 'filters'>;

/** Records newer than `sinceMs` not yet known, newest first, paged with the cursor; `overflow` when more remain. */
async function newerThan({ paths, apiKey, filters }: Query, sinceMs: number, known: ReadonlySet<string>, signal: AbortSignal) {
  const params = apiParams(filters, { fromMs: sinceMs, toMs: Date.now() + 60_000 });
  params.set('limit', '100');
  const added: AuditRecord[] = [];
  for (let pages = 0; pages < PAGES_PER_POLL; pages++) {
    const page = await getData<RecordsPage>(paths.records, params, apiKey, signal);
    added.push(...page.items.filter((r) => !known.has(r.id)));
    if (!page.hasMore || !page.nextCursor) return { added, overflow: false };
    params.set('cursor', page.nextCursor);
  }
  return { added, overflow: true };
}

/**
 * While on, polls for records newer than the newest shown (same filters) and keeps them, newest first. A poll starts
 * 2 s after the one before has finished, so a slow answer never has two polls adding the same rows.
 */
export function useLiveTail({ paths, apiKey, filters, shown, onError }: Options) {
  const [on, setOn] = useState(false);
  const [records, setRecords] = useState<AuditRecord[]>([]);
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const [overflowed, setOverflowed] = useState(false);
  const latest = useRef({ records, shown });
  latest.current = { records, shown };

  useEffect(() => {
    if (!on) return;
    const abort = new AbortController();
    const poll = async () => {
      const { records: tailed, shown: below } = latest.current;
      const since = tailed[0]?.createdAt ?? below[0]?.createdAt ?? new Date(Date.now() - POLL_MS).toISOString();
      const known = new Set([...tailed, ...below].map((r) => r.id));
      const { added, overflow } = await newerThan({ paths, apiKey, filters }, Date.parse(since), known, abort.signal);
      if (overflow) setOverflowed(true);
      if (added.length === 0) return;
      setFresh(new Set(added.map((r) => r.id)));
      setRecords((prior) => [...added, ...prior].slice(0, KEEP));
    };
    let timer: ReturnType<typeof setTimeout>;
    const next = () => {
      timer = setTimeout(() => void poll().catch(onError).finally(() => abort.signal.aborted || next()), POLL_MS);
    };
    next();
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [on, filters, paths, apiKey, onError]);

  return {
    on,
    records,
    fresh,
    /** A burst had more new records than a poll reads: the tail skipped some (Refresh lists every one). */
    overflowed,
    toggle: () => setOn((v) => !v),
    reset: () => {
      setRecords([]);
      setFresh(new Set());
      setOverflowed(false);
    },
  };
}
