import type { RootDatabase } from 'lmdb';
import type { AuditRecord } from '../audit/record.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { AuditFilter, AuditStore, CommitLog, PageRequest } from './store.js';
import { LmdbCommitLog } from './commit-log.js';
import { POSTINGS_DB_NAMES, createdAtMs, isTimedRequestId, oldestRecordMs, openDbs, organizationOf, type StoreDbs } from './indexes.js';
import { encodePositions, packedPosition } from './positions.js';
import type { Position } from './cursor.js';
import { lastSeq } from './log-batches.js';
import { PostingsBuilder } from './postings.js';
import { RequestIdPostings } from './request-postings.js';
import { SCHEMA_KEY, migrateToV2 } from './migrate.js';
import { rekeyLongValues } from './migrate-keys.js';
import { describeOpenError, openEnvironment, StoreOpenError } from './environment.js';
import { iterateMatches, runQuery } from './query.js';
import { RetentionTimer } from './retention.js';
import { MINUTES_DB, StatsRollup } from './stats-rollup.js';
import { COUNTS_DB } from './stats-counts.js';
import { WriteQueue } from './write-queue.js';
import { MapSizeGuard } from './map-size.js';

export { StoreFullError } from './map-size.js';

/**
 * Layout version written to `meta`; bump it (and add a migration) when keys or values change shape. 3: positions
 * may be packed compactly (positions.ts); version 2's wide values are read as they are, so 2 -> 3 rewrites nothing,
 * but a build that knows only 2 must refuse the store rather than misread its new values. 4: timed (UUIDv7) request
 * ids are posted per batch (request-postings.ts); older per-id postings are still read, so 2/3 -> 4 rewrites
 * nothing, but a build that knows only 3 would not find the new records by request id. 5: values over 256 bytes are
 * keyed by hash (key-value.ts); 4 -> 5 moves the keys an older version wrote with such values (migrate-keys.ts).
 */
export const SCHEMA_VERSION = 5;

export class SchemaVersionError extends Error {
  constructor(path: string, found: unknown) {
    super(`audit store at ${path} has schema version ${String(found)}, newer than this build understands (${SCHEMA_VERSION}); upgrade audit-proxy`);
    this.name = 'SchemaVersionError';
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
    checkSchemaVersion(env, dbs, config.path, readOnly, logger);
  } catch (error) {
    void env.close();
    throw describeOpenError(config.path, error);
  }
  const log = new LmdbCommitLog(dbs);
  const removable = () => log.removableThrough();
  const retention = new RetentionTimer(env, dbs, config.retention, logger, removable);
  const mapSizeGuard = new MapSizeGuard(env, dbs, {
    mapSizeMb: config.mapSizeMb, evictAbovePercent: config.retention.evictAbovePercent, batchSize: config.retention.batchSize,
  }, removable, logger);
  const rollup = new StatsRollup(env, () => oldestRecordMs(dbs), readOnly);
  const queue = new WriteQueue({
    capacity: config.queueMax,
    batchMax: config.batchMax,
    onFailure: config.onFailure,
    retryMs: config.retryMs,
    logger,
    write: (batch) => writeBatch(env, dbs, batch, mapSizeGuard, rollup),
  });
  if (!readOnly) retention.start();

  return {
    env,
    readLog: (afterSeq, limit) => log.readLog(afterSeq, limit),
    visitLog: (fromSeq, toSeq, visit) => log.visitLog(fromSeq, toSeq, visit),
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
    health: () => ({ ...queue.health(), evicted: mapSizeGuard.evicted }),
    query: async (filter: AuditFilter, page: PageRequest) => runQuery(dbs, filter, page, rollup.counts),
    iterate: (filter: AuditFilter) => asyncIterable(iterateMatches(dbs, filter, rollup.counts)),
    statsRollup: rollup,
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

function checkSchemaVersion(env: RootDatabase, dbs: StoreDbs, path: string, readOnly: boolean, logger: Logger): void {
  const found = dbs.meta.get(SCHEMA_KEY);
  if (found !== undefined && (typeof found !== 'number' || found > SCHEMA_VERSION)) throw new SchemaVersionError(path, found);
  if (found === undefined && !readOnly) env.transactionSync(() => {
    if (dbs.meta.get(SCHEMA_KEY) === undefined) dbs.meta.putSync(SCHEMA_KEY, SCHEMA_VERSION);
  });
  if (found === 1) {
    if (readOnly) throw new Error(`audit store at ${path} has schema version 1; open it read-write once (audit-proxy serve) to migrate it to ${SCHEMA_VERSION}`);
    const started = performance.now();
    const records = migrateToV2(env, dbs);
    logger.info({ path, records, ms: Math.round(performance.now() - started) }, 'audit store migrated from schema version 1 to 2 (index postings, batched commit log)');
  }
  if (typeof found === 'number' && found < SCHEMA_VERSION && !readOnly) {
    const started = performance.now();
    const moved = rekeyLongValues(env, [...POSTINGS_DB_NAMES, COUNTS_DB, MINUTES_DB]);
    logger.info({ path, keys: moved, ms: Math.round(performance.now() - started) }, `audit store keys of long values rewritten by hash (schema version ${found} to ${SCHEMA_VERSION})`);
    env.transactionSync(() => {
      const now = dbs.meta.get(SCHEMA_KEY);
      if (typeof now === 'number' && now >= 2 && now < SCHEMA_VERSION) dbs.meta.putSync(SCHEMA_KEY, SCHEMA_VERSION);
    });
  }
}

/**
 * Records, their index postings and their commit-log entries go into one write transaction: visible together or not
 * at all. Sequence numbers are taken inside it, under LMDB's writer lock, so they are one sequence across processes.
 */
async function writeBatch(env: RootDatabase, dbs: StoreDbs, batch: AuditRecord[], guard: MapSizeGuard, rollup: StatsRollup): Promise<void> {
  await guard.check(batch.length);
  await env.transaction(() => {
    let seq = lastSeq(dbs);
    const first = seq + 1;
    const postings = new PostingsBuilder(dbs);
    const requestIds = new RequestIdPostings(dbs.requestIds!); // a read-write open always has it
    const slots: Position[] = [];
    for (const record of batch) {
      record.seq = ++seq;
      const ms = createdAtMs(record);
      dbs.records.put([ms, record.id], record);
      const position = packedPosition(ms, record.id);
      slots.push(position);
      postings.add(record, ms, position);
      if (isTimedRequestId(record.requestId)) requestIds.add(organizationOf(record), record.requestId, position);
    }
    dbs.log.put(first, encodePositions(slots));
    postings.write(first);
    requestIds.write(first);
    rollup.applyInTransaction(batch); // the stats hook: the rollup commits with the records it counts
  });
}

/** The store's synchronous scan as an async iterable; returning early ends the scan (and its read transaction). */
async function* asyncIterable<T>(source: Generator<T>): AsyncGenerator<T> {
  yield* source;
}
