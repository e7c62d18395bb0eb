import type { RootDatabase } from 'lmdb';
import type { AuditRecord } from '../audit/record.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { AuditFilter, AuditStore, CommitLog, PageRequest } from './store.js';
import { LmdbCommitLog } from './commit-log.js';
import { describeOpenError, openEnvironment, StoreOpenError } from './environment.js';
import { createdAtMs, lastSeq, openDbs, writeRecord, type StoreDbs } from './indexes.js';
import { iterateMatches, runQuery } from './query.js';
import { RetentionTimer } from './retention.js';
import { WriteQueue } from './write-queue.js';

/** Layout version written to `meta`; bump it (and add a migration) when keys or values change shape. */
export const SCHEMA_VERSION = 1;
const SCHEMA_KEY = 'schemaVersion';
const MIB = 1024 * 1024;

export class SchemaVersionError extends Error {
  constructor(path: string, found: unknown) {
    super(`audit store at ${path} has schema version ${String(found)}, newer than this build understands (${SCHEMA_VERSION}); upgrade audit-proxy`);
    this.name = 'SchemaVersionError';
  }
}

export class StoreFullError extends Error {
  constructor(limitMb: number) {
    super(`MDB_MAP_FULL: audit store data reached store.mapSizeMb (${limitMb} MiB)`);
    this.name = 'StoreFullError';
  }
}

export interface OpenAuditStoreOptions {
  /** For readers beside a running server (the CLI): append throws, nothing is pruned. */
  readOnly?: boolean;
}

/** The AuditStore plus its commit log (for followers) and what operators and tests need. */
export interface LmdbAuditStore extends AuditStore, CommitLog {
  /** The LMDB environment, for subsystems that keep their own databases beside the records (the Merkle log). */
  readonly env: RootDatabase;
  /** Runs one retention pass now (or joins the one running); resolves with how many records it removed. */
  pruneNow(nowMs?: number): Promise<number>;
}

/** Opens (creating when needed) the LMDB environment at config.path. Synchronous; throws SchemaVersionError. */
export function openAuditStore(config: Config['store'], logger: Logger, options: OpenAuditStoreOptions = {}): LmdbAuditStore {
  const readOnly = options.readOnly === true;
  const env = openEnvironment(config, readOnly);
  let dbs: StoreDbs;
  try {
    dbs = openDbs(env);
    if (!dbs.meta) throw new StoreOpenError(config.path, 'the LMDB environment there holds no audit store');
    checkSchemaVersion(env, dbs, config.path, readOnly);
  } catch (error) {
    void env.close();
    throw describeOpenError(config.path, error);
  }
  const mapSizeGuard = new MapSizeGuard(dbs, config.mapSizeMb);
  const queue = new WriteQueue({
    capacity: config.queueMax,
    batchMax: config.batchMax,
    onFailure: config.onFailure,
    retryMs: config.retryMs,
    logger,
    write: (batch) => writeBatch(env, dbs, batch, mapSizeGuard),
  });
  const log = new LmdbCommitLog(dbs);
  const retention = new RetentionTimer(env, dbs, config.retention, logger, () => log.removableThrough());
  if (!readOnly) retention.start();

  return {
    env,
    readLog: (afterSeq, limit) => log.readLog(afterSeq, limit),
    readRecords: (afterSeq, limit) => log.readRecords(afterSeq, limit),
    lastSeq: () => log.lastSeq(),
    position: (name) => log.position(name),
    setPosition: (name, seq) => {
      if (readOnly) return Promise.reject(new Error('audit store is open read-only'));
      return log.setPosition(name, seq);
    },
    pin: (name) => log.pin(name),
    append(record: AuditRecord) {
      if (readOnly) throw new Error('audit store is open read-only');
      if (Number.isNaN(createdAtMs(record))) throw new TypeError(`audit record ${record.id} has an invalid createdAt`);
      return queue.append(record);
    },
    accepting: () => !readOnly && queue.accepting(),
    health: () => queue.health(),
    query: async (filter: AuditFilter, page: PageRequest) => runQuery(dbs, filter, page),
    iterate: (filter: AuditFilter) => asyncIterable(iterateMatches(dbs, filter)),
    flush: () => queue.flush(),
    pruneNow: (nowMs?: number) => {
      if (readOnly) return Promise.reject(new Error('audit store is open read-only'));
      return retention.runNow(nowMs);
    },
    async close() {
      await queue.flush().catch((err: unknown) => logger.error({ err }, 'audit store could not write every record before closing'));
      queue.stop();
      await retention.stop();
      await env.close();
    },
  };
}

function checkSchemaVersion(env: RootDatabase, dbs: StoreDbs, path: string, readOnly: boolean): void {
  const found = dbs.meta.get(SCHEMA_KEY);
  if (typeof found === 'number' && found > SCHEMA_VERSION) throw new SchemaVersionError(path, found);
  if (found !== undefined && typeof found !== 'number') throw new SchemaVersionError(path, found);
  if (found === undefined && !readOnly) env.transactionSync(() => dbs.meta.putSync(SCHEMA_KEY, SCHEMA_VERSION));
}

/**
 * Records, their index entries and their commit-log entries go into one write transaction: visible together or not
 * at all. Sequence numbers are taken inside it, under LMDB's writer lock, so they are one sequence across processes.
 */
async function writeBatch(env: RootDatabase, dbs: StoreDbs, batch: AuditRecord[], guard: MapSizeGuard): Promise<void> {
  guard.check(batch.length);
  await env.transaction(() => {
    let seq = lastSeq(dbs);
    for (const record of batch) {
      record.seq = ++seq;
      writeRecord(dbs, record);
    }
  });
}

/** The store's synchronous scan as an async iterable; returning early ends the scan (and its read transaction). */
async function* asyncIterable<T>(source: Generator<T>): AsyncGenerator<T> {
  yield* source;
}

/** A record's share of pages is taken as at most this when deciding whether the map could be full yet. */
const RECORD_BYTES_BOUND = 64 * 1024;
const REMEASURE_MS = 1_000;

/**
 * Enforces store.mapSizeMb before each batch without summing page statistics every time (nine getStats calls):
 * it measures again once a second, or sooner when the records written since the last measure could, at a
 * pessimistic RECORD_BYTES_BOUND each, have used the room that was left.
 */
class MapSizeGuard {
  private readonly limit: number;
  private measured = 0;
  private measuredAt = -Infinity;
  private recordsSince = 0;

  constructor(private readonly dbs: StoreDbs, private readonly mapSizeMb: number) {
    this.limit = mapSizeMb * MIB;
  }

  /** Throws StoreFullError when the live pages reach the limit. */
  check(records: number): void {
    const mayBeFull = this.measured + this.recordsSince * RECORD_BYTES_BOUND >= this.limit;
    if (mayBeFull || performance.now() - this.measuredAt >= REMEASURE_MS) {
      this.measured = liveBytes(this.dbs);
      this.measuredAt = performance.now();
      this.recordsSince = 0;
    }
    if (this.measured >= this.limit) throw new StoreFullError(this.mapSizeMb);
    this.recordsSince += records;
  }
}

interface DbStats {
  pageSize: number;
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  overflowPages: number;
}

/**
 * Bytes in the pages the store's databases use now. lmdb-js grows the map by itself instead of failing with
 * MDB_MAP_FULL, so store.mapSizeMb is enforced here; freed pages (after pruning) make room again.
 */
function liveBytes(dbs: StoreDbs): number {
  const all = [dbs.records, dbs.orgTime, dbs.log, dbs.meta, ...Object.values(dbs.byField)];
  let bytes = 0;
  for (const db of all) {
    const stats = db.getStats() as DbStats;
    bytes += (stats.treeBranchPageCount + stats.treeLeafPageCount + stats.overflowPages) * stats.pageSize;
  }
  return bytes;
}
