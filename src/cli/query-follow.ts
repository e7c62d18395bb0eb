import type { AuditRecord } from '../audit/record.js';
import type { LmdbAuditStore } from '../store/index.js';
import type { AuditFilter } from '../store/store.js';
import type { RecordPrinter } from './query-output.js';
import { recordTimeMs } from '../audit/iso-time.js';

const POLL_MS = 250;
const BATCH = 1_000;

/**
 * `query --follow`: prints each record that matches as it is committed, in commit order (the store's commit log,
 * so a long request that arrived earlier but finished later is not missed), until SIGINT or SIGTERM.
 */
export async function follow(store: LmdbAuditStore, filter: AuditFilter, printer: RecordPrinter): Promise<void> {
  const matches = matcher(filter);
  let after = store.lastSeq();
  let stopped = false;
  let wake: (() => void) | null = null;
  const stop = (): void => {
    stopped = true;
    wake?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    while (!stopped) {
      const records = store.readRecords(after, BATCH);
      for (const record of records) {
        if (matches(record)) printer.one(record);
      }
      after = records.at(-1)?.seq ?? after;
      if (records.length < BATCH) await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, POLL_MS); });
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** The filter as a predicate over one record (the store's index plans are for ranges, not single records). */
export function matcher(filter: AuditFilter): (record: AuditRecord) => boolean {
  const { fromMs, toMs, method, ...fields } = filter;
  const checks = Object.entries(fields).filter(([, value]) => value !== undefined) as [keyof AuditRecord, unknown][];
  return (record) => {
    const ms = recordTimeMs(record.createdAt);
    if ((fromMs !== undefined && ms < fromMs) || (toMs !== undefined && ms > toMs)) return false;
    if (method !== undefined && record.method.toUpperCase() !== method.toUpperCase()) return false;
    return checks.every(([name, value]) => record[name] === value);
  };
}
