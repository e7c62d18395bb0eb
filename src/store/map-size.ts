import type { Database, RootDatabase } from 'lmdb';
import type { Logger } from '../log.js';
import { recordCount, removeOldest, type RemovableThrough } from './retention.js';
import type { StoreDbs } from './indexes.js';

const MIB = 1024 * 1024;
/** A record's share of pages is taken as at most this when deciding whether a limit could be reached yet. */
const RECORD_BYTES_BOUND = 64 * 1024;
const REMEASURE_MS = 1_000;
/** Eviction goes this many percentage points below the level that started it, so it does not run every batch. */
const EVICTION_HYSTERESIS_PERCENT = 10;
/** How long a batch at the limit waits for a pinning follower to let eviction make room, and how often it looks. */
const FOLLOWER_WAIT_MS = 1_000;
const FOLLOWER_POLL_MS = 50;

export class StoreFullError extends Error {
  constructor(limitMb: number) {
    super(`MDB_MAP_FULL: audit store data reached store.mapSizeMb (${limitMb} MiB)`);
    this.name = 'StoreFullError';
  }
}

export interface MapSizeOptions {
  mapSizeMb: number;
  /** Evict the oldest records once live pages reach this share of mapSizeMb (0 = never; then the store fills). */
  evictAbovePercent: number;
  /** Records removed per eviction transaction. */
  batchSize: number;
}

/**
 * Keeps the store below store.mapSizeMb. lmdb-js grows the map by itself instead of failing with MDB_MAP_FULL, so
 * the limit is enforced here, before each batch: past `evictAbovePercent` the oldest records a pinning follower has
 * passed are evicted (counted, logged); at the limit itself (nothing evictable) the batch fails, as a full disk would.
 * Page statistics (one getStats per database) are summed once a second, or sooner when the records written since,
 * at a pessimistic RECORD_BYTES_BOUND each, could have reached the eviction level.
 */
export class MapSizeGuard {
  private readonly limit: number;
  private readonly evictAt: number;
  private readonly evictTo: number;
  private measured = 0;
  private measuredAt = -Infinity;
  private recordsSince = 0;
  /** Every database of the environment, opened once to read its page counts. */
  private readonly opened = new Map<string, Database>();
  evicted = 0;

  constructor(
    private readonly env: RootDatabase,
    private readonly dbs: StoreDbs,
    private readonly options: MapSizeOptions,
    private readonly removable: RemovableThrough,
    private readonly logger: Logger,
  ) {
    this.limit = options.mapSizeMb * MIB;
    const percent = options.evictAbovePercent;
    this.evictAt = percent > 0 ? (this.limit * percent) / 100 : Infinity;
    this.evictTo = (this.limit * Math.max(0, percent - EVICTION_HYSTERESIS_PERCENT)) / 100;
  }

  /** Before a batch of `records`: evicts when due; throws StoreFullError when the live pages reach the limit. */
  async check(records: number): Promise<void> {
    const threshold = Math.min(this.evictAt, this.limit);
    const mayHaveReached = this.measured + this.recordsSince * RECORD_BYTES_BOUND >= threshold;
    if (mayHaveReached || performance.now() - this.measuredAt >= REMEASURE_MS) this.measure();
    if (this.measured >= this.evictAt) await this.evict();
    // At the limit with eviction on, what blocks it is a pinning follower not yet past the oldest records (it runs
    // on its own poll and may lag a poll behind the writes): give it a moment before refusing the batch.
    for (let waited = 0; this.measured >= this.limit && this.evictAt < Infinity && waited < FOLLOWER_WAIT_MS; waited += FOLLOWER_POLL_MS) {
      await new Promise((resolve) => setTimeout(resolve, FOLLOWER_POLL_MS));
      this.measure();
      await this.evict();
    }
    if (this.measured >= this.limit) throw new StoreFullError(this.options.mapSizeMb);
    this.recordsSince += records;
  }

  private measure(): void {
    this.measured = liveBytes(this.env, this.opened);
    this.measuredAt = performance.now();
    this.recordsSince = 0;
  }

  /** Removes the oldest evictable records, a transaction at a time, until the live pages are down to evictTo. */
  private async evict(): Promise<void> {
    let evicted = 0;
    while (this.measured > this.evictTo) {
      const count = recordCount(this.dbs);
      if (count === 0) break;
      const perRecord = this.measured / count;
      const wanted = Math.min(this.options.batchSize, Math.max(1, Math.ceil((this.measured - this.evictTo) / perRecord)));
      const removed = await removeOldest(this.env, this.dbs, wanted, this.removable);
      this.measure();
      if (removed === 0) break;
      evicted += removed;
    }
    if (evicted === 0) return;
    this.evicted += evicted;
    this.logger.warn({ evicted, evictedTotal: this.evicted, liveMb: round1(this.measured / MIB), mapSizeMb: this.options.mapSizeMb },
      'audit store evicted its oldest records to stay below store.mapSizeMb');
  }
}

const round1 = (value: number) => Math.round(value * 10) / 10;

interface DbStats {
  pageSize: number;
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  overflowPages: number;
}

const pageBytes = (stats: DbStats) => (stats.treeBranchPageCount + stats.treeLeafPageCount + stats.overflowPages) * stats.pageSize;

/**
 * Bytes in the pages every database of the environment uses now: the records and their indexes, and what eviction
 * cannot remove (the rollups, the Merkle log). Pages freed by pruning or eviction count as room again.
 */
function liveBytes(env: RootDatabase, opened: Map<string, Database>): number {
  let bytes = pageBytes(env.getStats() as DbStats); // the root, which names the others
  for (const name of Array.from(env.getKeys())) { // listed first: opening a database inside the scan would end it
    if (typeof name !== 'string') continue;
    let db = opened.get(name);
    if (!db) opened.set(name, db = env.openDB({ name, encoding: 'binary' }));
    bytes += pageBytes(db.getStats() as DbStats);
  }
  return bytes;
}
