import { useEffect, useRef, useState } from 'preact/hooks';
import { getData, type ApiPaths, type AuditRecord, type RecordsPage } from './api.js';
import { apiParams, type Filters } from './filters.js';

const POLL_MS = 2_000;
/** Rows kept at the top while tailing; older ones remain reachable by paging after the tail stops. */
const KEEP = 500;

interface Options {
  paths: ApiPaths;
  apiKey: string;
  filters: Filters;
  /** The page shown under the tail, newest first. */
  shown: readonly AuditRecord[];
  onError: (err: unknown) => void;
}

/** While on, polls for records newer than the newest shown (same filters) and keeps them, newest first. */
export function useLiveTail({ paths, apiKey, filters, shown, onError }: Options) {
  const [on, setOn] = useState(false);
  const [records, setRecords] = useState<AuditRecord[]>([]);
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const latest = useRef({ records, shown });
  latest.current = { records, shown };

  useEffect(() => {
    if (!on) return;
    const abort = new AbortController();
    const poll = async () => {
      const { records: tailed, shown: below } = latest.current;
      const since = tailed[0]?.createdAt ?? below[0]?.createdAt ?? new Date(Date.now() - POLL_MS).toISOString();
      const params = apiParams(filters, { fromMs: Date.parse(since), toMs: Date.now() + 60_000 });
      params.set('limit', '100');
      const page = await getData<RecordsPage>(paths.records, params, apiKey, abort.signal);
      const known = new Set([...tailed, ...below].map((r) => r.id));
      const added = page.items.filter((r) => !known.has(r.id));
      if (added.length === 0) return;
      setFresh(new Set(added.map((r) => r.id)));
      setRecords((prior) => [...added, ...prior].slice(0, KEEP));
    };
    const timer = setInterval(() => poll().catch(onError), POLL_MS);
    return () => {
      clearInterval(timer);
      abort.abort();
    };
  }, [on, filters, paths, apiKey, onError]);

  return {
    on,
    records,
    fresh,
    toggle: () => setOn((v) => !v),
    reset: () => {
      setRecords([]);
      setFresh(new Set());
    },
  };
}
