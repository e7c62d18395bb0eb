import type { AuditFilter } from './store.js';
import { oldestRecordMs, organizationOf, type StoreDbs } from './indexes.js';
import { BUCKET_MS, bucketOf, countPostings, type MsRange } from './postings.js';
import type { CountRollup } from './stats-counts.js';

/** Counts a filter's matches in a range by reading the records (the edges of a range the rollup cannot cut). */
export type ScanCount = (filter: AuditFilter) => number;

/**
 * The total of a filter no index serves, from the count rollup: whole seconds added up from it, partial seconds at
 * the range's edges counted by `scanCount`. The rollup is trusted only where its count of all the organization's
 * records equals the postings' (nothing removed since); where it does not, the edge is scanned, and between the
 * edges, or when the rollup cannot answer the filter, null: the caller scans.
 */
export function countByRollup(dbs: StoreDbs, counts: CountRollup, filter: AuditFilter, range: MsRange, scanCount: ScanCount): number | null {
  if (counts.dimensionFor(filter) === -1 || !counts.complete()) return null;
  const org = organizationOf(filter);
  const oldest = oldestRecordMs(dbs);
  if (oldest === undefined) return 0;
  const fromMs = Math.max(range.fromMs, oldest);
  if (fromMs > range.toMs) return 0;
  const first = bucketOf(fromMs);
  const last = bucketOf(range.toMs);
  if (first === last) return scanCount({ ...filter, fromMs, toMs: range.toMs });
  const second = (bucket: number): MsRange => ({ fromMs: bucket * BUCKET_MS, toMs: (bucket + 1) * BUCKET_MS - 1 });
  // An edge second is counted from the rollup when the range covers it (nothing of it lies before the oldest record)
  // and its count of all records agrees with the postings (retention thins the oldest second); otherwise scanned.
  const edge = (bucket: number, whole: boolean, part: MsRange): number => (whole && agrees(dbs, counts, org, bucket, second(bucket))
    ? counts.matches({ filter, fromBucket: bucket, toBucket: bucket })
    : scanCount({ ...filter, ...part }));
  let total = edge(first, fromMs === first * BUCKET_MS || fromMs === oldest, { fromMs, toMs: second(first).toMs })
    + edge(last, range.toMs === second(last).toMs, { fromMs: second(last).fromMs, toMs: range.toMs });
  if (last - first < 2) return total;
  const between: MsRange = { fromMs: second(first + 1).fromMs, toMs: second(last - 1).toMs };
  if (counts.allRecords(org, first + 1, last - 1) !== countPostings(dbs.orgTime, [org], between)) return null;
  total += counts.matches({ filter, fromBucket: first + 1, toBucket: last - 1 });
  return total;
}

/** The rollup's count of all the organization's records in the second equals the postings' (none removed since). */
function agrees(dbs: StoreDbs, counts: CountRollup, org: string, bucket: number, second: MsRange): boolean {
  return counts.allRecords(org, bucket, bucket) === countPostings(dbs.orgTime, [org], second);
}
