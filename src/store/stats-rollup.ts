import type { Database, Key, RootDatabase } from 'lmdb';
import type { AuditRecord } from '../audit/record.js';
import { addEncodedTo, addRecordTo, emptyCell, encodeCell, type BucketedStats, type StatsCell, type StatsRollupReader } from './stats.js';
import { recordTimeMs } from '../audit/iso-time.js';
import { CountRollup } from './stats-counts.js';
import { bucketOf } from './postings.js';
import { ChunkedPrune, PRUNE_CHUNK_KEYS } from './chunked-prune.js';
import { organizationOf } from './indexes.js';

export const MINUTE_MS = 60_000;
/** Keys: [ALL, minuteMs] sums every organization; [ORG, organizationId, minuteMs] one organization. */
const ALL = 'a';
const ORG = 'o';
/** The first minute from which every committed record was counted; earlier minutes are answered by a scan. */
const SINCE_KEY: Key = ['since'];
const PRUNE_EVERY_MS = 3_600_000;
export const MINUTES_DB = 'stats_minute';
/** Minutes read per turn of the event loop: a month of them (43,200) takes 70-170 ms, on the thread that proxies. */
const READ_SLICE = 2_000;

/**
 * Per-minute statistics per organization in their own LMDB database (`stats_minute`), about 450 bytes per
 * organization-minute, so a day's chart reads 1,440 entries instead of every record. Minutes older than the
 * oldest record are pruned, and reads never reach before it.
 */
export class StatsRollup implements StatsRollupReader {
  /** Undefined in a read-only environment written before the rollup existed (lmdb-js opens no missing database then). */
  private readonly db: Database<Buffer, Key> | undefined;
  private prunedAt = 0;
  private readonly minutesPrune: ChunkedPrune;
  /** Record counts per filter value and second, kept in the same transactions (totals of /v1/audit-logs). */
  readonly counts: CountRollup;

  constructor(env: RootDatabase, private readonly oldestRecordMs: () => number | undefined, readOnly: boolean) {
    this.counts = new CountRollup(env, () => oldestRecordMs() !== undefined, readOnly);
    // Binary values: a cell is 424 bytes of counts, added up without decoding objects (see addEncodedTo).
    const db = env.openDB<Buffer, Key>({ name: MINUTES_DB, encoding: 'binary' });
    this.db = db;
    this.minutesPrune = new ChunkedPrune(db, PRUNE_CHUNK_KEYS);
    if (!readOnly && db.get(SINCE_KEY) === undefined) {
      // Records committed from the next whole minute on all pass through applyInTransaction.
      const since = Buffer.alloc(8);
      since.writeDoubleLE(Math.ceil(Date.now() / MINUTE_MS) * MINUTE_MS);
      env.transactionSync(() => db.putSync(SINCE_KEY, since));
    }
  }

  sinceMs(): number {
    const since = this.db?.get(SINCE_KEY);
    return since?.length === 8 ? since.readDoubleLE(0) : Infinity;
  }

  /**
   * Counts committed records. Runs inside a write transaction (its read-add-write of a minute must not interleave
   * with another writer's), ideally the very transaction that commits them.
   */
  applyInTransaction(records: readonly AuditRecord[]): void {
    this.counts.applyInTransaction(records);
    const cells = new Map<string, { key: Key[]; cell: StatsCell }>();
    const cellOf = (id: string, key: () => Key[]): StatsCell => {
      let entry = cells.get(id);
      if (!entry) cells.set(id, entry = { key: key(), cell: emptyCell() });
      return entry.cell;
    };
    for (const record of records) {
      const minute = Math.floor(recordTimeMs(record.createdAt) / MINUTE_MS) * MINUTE_MS;
      const org = organizationOf(record);
      // Ids by concatenation: a JSON.stringify of two keys per record cost more than the counting.
      addRecordTo(cellOf(`${minute}`, () => [ALL, minute]), record.statusCode, record.durationMs);
      addRecordTo(cellOf(`${minute}\u0000${org}`, () => [ORG, org, minute]), record.statusCode, record.durationMs);
    }
    for (const { key, cell } of cells.values()) {
      const stored = this.db!.get(key);
      if (stored) addEncodedTo(cell, stored);
      this.db!.putSync(key, encodeCell(cell));
    }
    if (Date.now() - this.prunedAt >= PRUNE_EVERY_MS) this.requestPrune();
    this.minutesPrune.step();
    this.counts.prune.step();
  }

  async addTo(stats: BucketedStats, organizationId: string | undefined, fromMs: number, toMs: number): Promise<void> {
    const oldest = this.oldestRecordMs();
    if (oldest === undefined || !this.db) return;
    const prefix = organizationId === undefined ? [ALL] : [ORG, organizationOf({ organizationId })];
    let next = Math.max(fromMs, Math.floor(oldest / MINUTE_MS) * MINUTE_MS);
    for (;;) {
      let read = 0;
      for (const { key, value } of this.db.getRange({ start: [...prefix, next], end: [...prefix, toMs], limit: READ_SLICE })) {
        const minute = (key as Key[]).at(-1) as number;
        const cell = stats.cellAt(minute);
        if (cell) addEncodedTo(cell, value);
        next = minute + 1;
        read++;
      }
      if (read < READ_SLICE) return;
      await new Promise((resolve) => setImmediate(resolve)); // proxied requests go on between slices
    }
  }

  /** Starts pruning minutes and seconds before the oldest record's (retention removed their records). */
  private requestPrune(): void {
    this.prunedAt = Date.now();
    const oldest = this.oldestRecordMs();
    if (oldest === undefined) return;
    this.counts.prune.request(bucketOf(oldest));
    this.minutesPrune.request(Math.floor(oldest / MINUTE_MS) * MINUTE_MS);
  }
}
