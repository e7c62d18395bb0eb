import type { Database, Key, RootDatabase } from 'lmdb';
import type { AuditRecord } from '../audit/record.js';
import { addCellTo, addRecordTo, emptyCell, type BucketedStats, type StatsCell } from './stats.js';

export const MINUTE_MS = 60_000;
/** Keys: [ALL, minuteMs] sums every organization; [ORG, organizationId, minuteMs] one organization. */
const ALL = 'a';
const ORG = 'o';
/** The first minute from which every committed record was counted; earlier minutes are answered by a scan. */
const SINCE_KEY: Key = ['since'];
const PRUNE_EVERY_MS = 3_600_000;

/** What the rollup reads of a record. */
export type RollupRecord = Pick<AuditRecord, 'createdAt' | 'organizationId' | 'statusCode' | 'durationMs'>;

/** The read side, as the stats endpoint sees it. */
export interface StatsRollupReader {
  /** Minutes from this one on are complete in the rollup (Infinity: the rollup has counted nothing yet). */
  sinceMs(): number;
  /** Adds the rollup's minutes in [fromMs, toMs) to `stats`; organizationId undefined means every organization. */
  addTo(stats: BucketedStats, organizationId: string | undefined, fromMs: number, toMs: number): void;
}

/**
 * Per-minute statistics per organization in their own LMDB database (`stats_minute`), about 150 bytes per
 * organization-minute, so a day's chart reads 1,440 entries instead of every record. Minutes older than the
 * oldest record are pruned, and reads never reach before it.
 */
export class StatsRollup implements StatsRollupReader {
  private readonly db: Database<StatsCell | number, Key>;
  private prunedAt = 0;

  constructor(env: RootDatabase, private readonly oldestRecordMs: () => number | undefined, readOnly: boolean) {
    this.db = env.openDB<StatsCell | number, Key>({ name: 'stats_minute' });
    if (!readOnly && this.db.get(SINCE_KEY) === undefined) {
      // Records committed from the next whole minute on all pass through applyInTransaction.
      env.transactionSync(() => this.db.putSync(SINCE_KEY, Math.ceil(Date.now() / MINUTE_MS) * MINUTE_MS));
    }
  }

  sinceMs(): number {
    const since = this.db.get(SINCE_KEY);
    return typeof since === 'number' ? since : Infinity;
  }

  /**
   * Counts committed records. Runs inside a write transaction (its read-add-write of a minute must not interleave
   * with another writer's), ideally the very transaction that commits them.
   */
  applyInTransaction(records: readonly RollupRecord[]): void {
    const cells = new Map<string, { key: Key[]; cell: StatsCell }>();
    for (const record of records) {
      const minute = Math.floor(Date.parse(record.createdAt) / MINUTE_MS) * MINUTE_MS;
      for (const key of [[ALL, minute], [ORG, record.organizationId ?? '', minute]]) {
        const id = JSON.stringify(key);
        let entry = cells.get(id);
        if (!entry) cells.set(id, entry = { key, cell: emptyCell() });
        addRecordTo(entry.cell, record.statusCode, record.durationMs);
      }
    }
    for (const { key, cell } of cells.values()) {
      const stored = this.db.get(key);
      if (typeof stored === 'object') addCellTo(cell, stored);
      this.db.putSync(key, cell);
    }
    if (Date.now() - this.prunedAt >= PRUNE_EVERY_MS) this.pruneInTransaction();
  }

  addTo(stats: BucketedStats, organizationId: string | undefined, fromMs: number, toMs: number): void {
    const oldest = this.oldestRecordMs();
    if (oldest === undefined) return;
    const prefix = organizationId === undefined ? [ALL] : [ORG, organizationId];
    const start = Math.max(fromMs, Math.floor(oldest / MINUTE_MS) * MINUTE_MS);
    for (const { key, value } of this.db.getRange({ start: [...prefix, start], end: [...prefix, toMs] })) {
      const cell = stats.cellAt((key as Key[]).at(-1) as number);
      if (cell && typeof value === 'object') addCellTo(cell, value);
    }
  }

  /** Removes minutes before the oldest record's (retention removed their records). */
  private pruneInTransaction(): void {
    this.prunedAt = Date.now();
    const oldest = this.oldestRecordMs();
    if (oldest === undefined) return;
    const cutoff = Math.floor(oldest / MINUTE_MS) * MINUTE_MS;
    for (const key of this.db.getKeys()) {
      const minute = (key as Key[]).at(-1);
      if (typeof minute === 'number' && minute < cutoff) this.db.removeSync(key);
    }
  }
}
