import { z } from 'zod';
import type { AuditRecord } from '../audit/record.js';
import type { RequestContext } from '../pipeline/context.js';
import { MINUTE_MS } from '../store/stats-rollup.js';
import { BucketedStats } from '../store/stats.js';
import type { AuditFilter, AuditStore } from '../store/store.js';
import { isDenial } from './access.js';
import { parseParams } from './params.js';
import { onlyOrganizationAndTime, recordFilterParams, recordSelection, type RecordSelection } from './record-filters.js';
import { sendApiError, sendApiJson } from './respond.js';
import { recordTimeMs } from '../audit/iso-time.js';

const UNIT_MS = { m: MINUTE_MS, h: 60 * MINUTE_MS, d: 1_440 * MINUTE_MS } as const;
const MAX_BUCKETS = 1_440;
/** Without `bucket`, the first of these that cuts the range into at most AUTO_BUCKETS buckets. */
const AUTO_LADDER_MS = [1, 5, 15, 60, 360, 1_440, 10_080].map((minutes) => minutes * MINUTE_MS);
const AUTO_BUCKETS = 120;
const DEFAULT_RANGE_MS = 1_440 * MINUTE_MS;
/** A scan (filters the rollup does not keep) stops after this long and says which part it covered. */
const SCAN_BUDGET_MS = 1_000;
/** Records between two yields to the event loop during a scan, so proxied traffic is not held up. */
const SCAN_SLICE = 2_000;

export const auditStatsParams = z.strictObject({
  ...recordFilterParams,
  bucket: z.string().regex(/^[1-9]\d{0,4}[mhd]$/, 'must be a whole number of minutes, hours or days, e.g. 5m, 1h or 1d')
    .transform((s) => Number(s.slice(0, -1)) * UNIT_MS[s.at(-1) as keyof typeof UNIT_MS]).optional(),
});

interface Coverage {
  source: 'rollup' | 'scan' | 'rollup+scan';
  /** Earliest time the answer covers: later than `from` when a scan ran out of its time budget. */
  coveredFromMs: number;
}

/** GET /v1/audit-logs/stats: requests per bucket by status class, with duration p50/p95/p99. */
export async function answerAuditStats(ctx: RequestContext, store: AuditStore): Promise<void> {
  const parsed = parseParams(ctx.search, auditStatsParams);
  if (!parsed.ok) return sendApiError(ctx, 400, parsed.message);
  const p = parsed.value;
  const toMs = p.to ?? Date.now();
  const fromMs = p.from ?? toMs - DEFAULT_RANGE_MS;
  const selection = recordSelection(ctx, { ...p, from: fromMs, to: toMs });
  if (isDenial(selection)) return sendApiError(ctx, selection.status, selection.message);
  const bucketMs = p.bucket ?? AUTO_LADDER_MS.find((ms) => (toMs - fromMs) / ms <= AUTO_BUCKETS) ?? AUTO_LADDER_MS.at(-1)!;
  const start = Math.floor(fromMs / bucketMs) * bucketMs;
  const bucketCount = Math.max(1, Math.ceil((toMs + 1 - start) / bucketMs));
  if (bucketCount > MAX_BUCKETS) return sendApiError(ctx, 400, `bucket is too small for this range: ${bucketCount} buckets, at most ${MAX_BUCKETS}`);
  const stats = new BucketedStats(start, bucketMs, bucketCount);
  const coverage = await fill(stats, store, selection, fromMs, toMs);
  sendApiJson(ctx, {
    code: 200,
    data: {
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      bucketMs,
      source: coverage.source,
      complete: coverage.coveredFromMs <= fromMs,
      coveredFrom: new Date(Math.max(fromMs, coverage.coveredFromMs)).toISOString(),
      buckets: stats.buckets().map(({ startMs, ...bucket }) => ({ start: new Date(startMs).toISOString(), ...bucket })),
    },
    message: 'success',
    requestId: ctx.requestId,
  });
}

/**
 * The rollup answers whole minutes for an organization (or all) from the minute it started counting; a filter it
 * does not keep, a range edge inside a minute, or time before the rollup existed is scanned record by record.
 */
async function fill(stats: BucketedStats, store: AuditStore, selection: RecordSelection, fromMs: number, toMs: number): Promise<Coverage> {
  const rollup = store.statsRollup;
  const { filter } = selection;
  if (!rollup || selection.match || !onlyOrganizationAndTime(filter)) {
    return { source: 'scan', coveredFromMs: await scanInto(stats, store, filter, selection.match) };
  }
  // Whole minutes from the rollup; the partial minutes at both ends and anything before `since` by scanning.
  const rollupFrom = Math.max(Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS, rollup.sinceMs());
  const rollupTo = Math.floor((toMs + 1) / MINUTE_MS) * MINUTE_MS;
  if (rollupFrom >= rollupTo) return { source: 'scan', coveredFromMs: await scanInto(stats, store, filter, null) };
  await rollup.addTo(stats, filter.organizationId, rollupFrom, rollupTo);
  await scanInto(stats, store, { ...filter, fromMs: rollupTo }, null);
  const coveredFromMs = rollupFrom > fromMs ? await scanInto(stats, store, { ...filter, toMs: rollupFrom - 1 }, null) : fromMs;
  return { source: rollupFrom > fromMs || rollupTo <= toMs ? 'rollup+scan' : 'rollup', coveredFromMs };
}

/** Adds every match to the buckets, newest first, for at most SCAN_BUDGET_MS; returns the earliest time covered. */
async function scanInto(stats: BucketedStats, store: AuditStore, filter: AuditFilter, match: ((r: AuditRecord) => boolean) | null): Promise<number> {
  const deadline = performance.now() + SCAN_BUDGET_MS;
  let seen = 0;
  for await (const record of store.iterate(filter, { withoutBodies: true })) {
    const ms = recordTimeMs(record.createdAt);
    if (!match || match(record)) stats.addRecord(ms, record.statusCode, record.durationMs);
    if (++seen % SCAN_SLICE === 0) {
      if (performance.now() > deadline) return ms;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return filter.fromMs ?? -Infinity;
}
