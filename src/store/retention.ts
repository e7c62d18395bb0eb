import type { Key, RootDatabase } from 'lmdb';
import type { AuditRecord } from '../audit/record.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { releaseBodies } from './bodies.js';
import { BodySweep } from './body-sweep.js';
import { createdAtMs, MAX_MS, MIN_MS, removeRecord, type StoreDbs } from './indexes.js';
import { removeFromPostings } from './postings.js';
import { removeFromLog } from './log-batches.js';
import { removeFromRequestPostings } from './request-postings.js';

type RetentionConfig = Config['store']['retention'];

const DAY_MS = 86_400_000;
const STRUCTURES_KEY = Symbol.for('structures');

/** The highest seq retention may remove (records a pinning follower has not passed stay). */
export type RemovableThrough = () => number;

/**
 * Removes up to `limit` of the oldest records (older than `beforeMs` when given) with their index entries,
 * all in one transaction, stopping at the first record a follower still needs. Returns how many were removed.
 */
export function removeOldest(env: RootDatabase, dbs: StoreDbs, limit: number, removableThrough: RemovableThrough, beforeMs?: number): Promise<number> {
  const through = removableThrough();
  // A child transaction: lmdb-js commits what a plain transaction() callback had put before it threw, which would
  // leave records removed with their postings and log entries still pointing at them.
  return env.childTransaction(() => {
    const range = { start: [MIN_MS], end: [beforeMs ?? MAX_MS], limit };
    const oldest: AuditRecord[] = Array.from(dbs.records.getRange(range), (entry) => entry.value);
    const kept = oldest.findIndex((record) => record.seq !== undefined && record.seq > through);
    const removable = kept === -1 ? oldest : oldest.slice(0, kept);
    for (const record of removable) removeRecord(dbs, record);
    const last = removable.at(-1);
    if (last && dbs.bodies) releaseBodies(dbs.bodies, removable, [createdAtMs(last), last.id]);
    removeFromPostings(dbs, removable);
    removeFromRequestPostings(dbs, removable);
    removeFromLog(dbs, removable);
    return removable.length;
  });
}

/** O(1): LMDB keeps each database's entry count; `records` holds one per record plus its shared structures. */
export function recordCount(dbs: StoreDbs): number {
  const entries = (dbs.records.getStats() as { entryCount: number }).entryCount;
  return dbs.records.get(STRUCTURES_KEY as unknown as Key) === undefined ? entries : entries - 1;
}

/** One pruning pass: by age, then by count, in transactions of at most batchSize records. */
export async function prunePass(env: RootDatabase, dbs: StoreDbs, retention: RetentionConfig, removable: RemovableThrough, nowMs = Date.now()): Promise<number> {
  let removed = 0;
  if (retention.maxAgeDays > 0) {
    const cutoff = nowMs - retention.maxAgeDays * DAY_MS;
    for (let n = retention.batchSize; n === retention.batchSize; removed += n) {
      n = await removeOldest(env, dbs, retention.batchSize, removable, cutoff);
    }
  }
  if (retention.maxRecords !== null) {
    for (;;) {
      const excess = recordCount(dbs) - retention.maxRecords;
      if (excess <= 0) break;
      const n = await removeOldest(env, dbs, Math.min(excess, retention.batchSize), removable);
      if (n === 0) break;
      removed += n;
    }
  }
  return removed;
}

/** Runs prunePass, then a sweep of the bodies left behind, every intervalMs in the background (unref'd), never two passes at once. */
export class RetentionTimer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private readonly sweep: BodySweep;

  constructor(
    private readonly env: RootDatabase,
    private readonly dbs: StoreDbs,
    private readonly retention: RetentionConfig,
    private readonly logger: Logger,
    private readonly removable: RemovableThrough,
  ) {
    this.sweep = new BodySweep(env, dbs);
  }

  start(): void {
    if (this.retention.maxAgeDays === 0 && this.retention.maxRecords === null) return;
    this.timer = setInterval(() => {
      this.runNow().catch((err: unknown) => this.logger.error({ err }, 'audit store pruning failed'));
    }, this.retention.intervalMs).unref();
  }

  /** One pass now, or the one already running; resolves with the records it removed. */
  runNow(nowMs?: number): Promise<number> {
    this.running ??= this.pass(nowMs).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(nowMs: number | undefined): Promise<number> {
    const removed = await prunePass(this.env, this.dbs, this.retention, this.removable, nowMs);
    await this.sweep.pass();
    return removed;
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }
}
