import type { AuditFilter } from './store.js';
import { MAX_MS, MIN_MS, type StoreDbs } from './indexes.js';
import { BUCKET_MS, bucketOf, countPostings, type MsRange } from './postings.js';
import type { CountRollup } from './stats-counts.js';

/** Counts a filter's matches in a range by reading the records (the edges of a range the rollup cannot cut). */
export type ScanCount = (filter: AuditFilter) => number;

/**
 * The total of a filter no index serves, from the count rollup: whole seconds added up from it, the partial seconds
 * at the range's edges (and the oldest second, which retention may have thinned) counted by `scanCount`. The rollup
 * is trusted only when its count of all the organization's records in those seconds equals the postings' (nothing
 * removed since); otherwise, or when the rollup cannot answer the filter, null: the caller scans.
 */
export function countByRollup(dbs: StoreDbs, counts: CountRollup, filter: AuditFilter, range: MsRange, scanCount: ScanCount): number | null {
  const org = filter.organizationId;
  if (org === undefined || counts.dimensionFor(filter) === -1 || !counts.complete()) return null;
  const oldest = oldestRecordMs(dbs);
  if (oldest === undefined) return 0;
  const fromMs = Math.max(range.fromMs, oldest);
  if (fromMs > range.toMs) return 0;
  const first = bucketOf(fromMs);
  const last = bucketOf(range.toMs);
  const wholeFrom = fromMs === first * BUCKET_MS && bucketOf(oldest) < first ? first : first + 1;
  const wholeTo = range.toMs === (last + 1) * BUCKET_MS - 1 ? last : last - 1;
  if (wholeFrom > wholeTo) return scanCount({ ...filter, fromMs, toMs: range.toMs });
  const whole: MsRange = { fromMs: wholeFrom * BUCKET_MS, toMs: (wholeTo + 1) * BUCKET_MS - 1 };
  if (counts.allRecords(org, wholeFrom, wholeTo) !== countPostings(dbs.orgTime, [org], whole)) return null;
  let total = counts.matches({ filter, fromBucket: wholeFrom, toBucket: wholeTo });
  if (fromMs < whole.fromMs) total += scanCount({ ...filter, fromMs, toMs: whole.fromMs - 1 });
  if (range.toMs > whole.toMs) total += scanCount({ ...filter, fromMs: whole.toMs + 1, toMs: range.toMs });
  return total;
}

function oldestRecordMs(dbs: StoreDbs): number | undefined {
  for (const key of dbs.records.getKeys({ start: [MIN_MS], end: [MAX_MS], limit: 1 })) return (key as number[])[0];
  return undefined;
}
