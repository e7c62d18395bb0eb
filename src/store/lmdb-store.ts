import type { RootDatabase } from 'lmdb';
import type { AppendedRecord } from '../audit/raw-body.js';
import { BodyRedactor } from '../audit/redact.js';
import type { Config } from '../config/schema.js';
import { DEFAULT_REDACT_KEYS } from '../config/sections/capture.js';
import type { Logger } from '../log.js';
import type { AuditFilter, AuditStore, CommitLog, IterateOptions, PageRequest } from './store.js';
import { LmdbCommitLog } from './commit-log.js';
import { POSTINGS_DB_NAMES, createdAtMs, oldestRecordMs, openDbs, type StoreDbs } from './indexes.js';
import { SCHEMA_KEY, migrateToV2 } from './migrate.js';
import { rekeyLongValues } from './migrate-keys.js';
import { describeOpenError, openEnvironment, StoreOpenError } from './environment.js';
import { iterateMatches, runQuery } from './query.js';
import { RetentionTimer } from './retention.js';
import { MINUTES_DB, StatsRollup } from './stats-rollup.js';
import { COUNTS_DB } from './stats-counts.js';
import { WriteQueue } from './write-queue.js';
import { checkBodies, type BodiesCheck } from './check-bodies.js';
import type { RecordPosition } from './bodies.js';
import { committedLastSeq, createBatchWriter, type BatchWriter } from './batch-writer.js';
import { WriterThread, WriterThreadExitedError } from './writer-thread.js';
import { warnWithoutLmdbOpenFix } from './lmdb-fix.js';

export { StoreFullError } from './map-size.js';

/**
 * Layout version written to `meta`; bump it (and add a migration) when keys or values change shape. 3: positions
 * may be packed compactly (positions.ts); version 2's wide values are read as they are, so 2 -> 3 rewrites nothing,
 * but a build that knows only 2 must refuse the store rather than misread its new values. 4: timed (UUIDv7) request
 * ids are posted per batch (request-postings.ts); older per-id postings are still read, so 2/3 -> 4 rewrites
 * nothing, but a build that knows only 3 would not find the new records by request id. 5: values over 256 bytes are
 * keyed by hash (key-value.ts); 4 -> 5 moves the keys an older version wrote with such values (migrate-keys.ts).
 * 6: captured bodies of store.bodiesApartBytes or more are stored apart (bodies.ts); 5 -> 6 rewrites nothing (records written before
 * keep their bodies), but a build that knows only 5 would show the new records' bodies as null and never free them.
 */
export const SCHEMA_VERSION = 6;

export class SchemaVersionError extends Error {
  constructor(path: string, found: unknown) {
    super(`audit store at ${path} has schema version ${String(found)}, newer than this build understands (${SCHEMA_VERSION}); upgrade audit-proxy`);
    this.name = 'SchemaVersionError';
  }
}

export interface OpenAuditStoreOptions {
  /** For readers beside a running server (the CLI): append throws, nothing is pruned. */
  readOnly?: boolean;
  /** capture.redactKeys, for the raw bodies of appended records (the defaults when absent). */
  redactKeys?: readonly string[];
}

/** The AuditStore plus its commit log (for followers) and what operators and tests need. */
export interface LmdbAuditStore extends AuditStore, CommitLog {
  /** The LMDB environment, for subsystems that keep their own databases beside the records (the Merkle log). */
  readonly env: RootDatabase;
  /** The thread that commits the store's batches (store.writer thread), for diagnostics and tests; null otherwise. */
  readonly writerThread: WriterThread | null;
  /** Runs one retention pass now (or joins the one running); resolves with how many records it removed. */
  pruneNow(nowMs?: number): Promise<number>;
  /** Checks the bodies stored apart against their hashes, and the references `holders` hold (verify's walk notes them: check-bodies.ts). */
  checkBodies(holders: Iterable<RecordPosition>, problem: (line: string) => void): BodiesCheck;
}

/** Opens (creating when needed) the LMDB environment at config.path. Synchronous; throws SchemaVersionError. */
export function openAuditStore(config: Config['store'], logger: Logger, options: OpenAuditStoreOptions = {}): LmdbAuditStore {
  const readOnly = options.readOnly === true;
  const redactKeys = options.redactKeys ?? DEFAULT_REDACT_KEYS;
  warnWithoutLmdbOpenFix(logger);
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
  const rollup = new StatsRollup(env, () => oldestRecordMs(dbs), readOnly);
  const thread = readOnly || config.writer !== 'thread' ? null : new WriterThread(
    { store: config, redactKeys, logLevel: logger.level },
    async (batch) => {
      await env.transaction(() => undefined).catch(() => undefined); // behind any transaction still committing (a dead thread's)
      env.resetReadTxn();
      return committedLastSeq(dbs, batch);
    },
    () => env.resetReadTxn(), // this thread's read snapshot may predate the commit it was just told of
    logger,
  );
  const inline: BatchWriter | null = readOnly ? null : createBatchWriter(env, dbs, config, log, rollup, new BodyRedactor(redactKeys), logger);
  const queue = new WriteQueue({
    capacity: config.queueMax,
    batchMax: config.batchMax,
    onFailure: config.onFailure,
    retryMs: config.retryMs,
    logger,
    // A batch whose thread died goes inline at once, before any later one (open mode would drop it as failed).
    write: (batch) => !thread?.ready ? inline!.write(batch) : thread.write(batch).catch((error: unknown) => {
      if (error instanceof WriterThreadExitedError) return inline!.write(batch);
      throw error;
    }),
  });
  if (!readOnly) retention.start();

  return {
    env,
    writerThread: thread,
    readLog: (afterSeq, limit) => log.readLog(afterSeq, limit),
    visitLog: (fromSeq, toSeq, visit) => log.visitLog(fromSeq, toSeq, visit),
    readRecords: (afterSeq, limit) => log.readRecords(afterSeq, limit),
    lastSeq: () => log.lastSeq(),
    position: (name) => log.position(name),
    setPosition: (name, seq) => {
      if (readOnly) return Promise.reject(new Error('audit store is open read-only'));
      return log.setPosition(name, seq);
    },
    pin: (name) => {
      log.pin(name);
      thread?.pin(name);
    },
    append(record: AppendedRecord) {
      if (readOnly) throw new Error('audit store is open read-only');
      if (Number.isNaN(createdAtMs(record))) throw new TypeError(`audit record ${record.id} has an invalid createdAt`);
      return queue.append(record);
    },
    accepting: () => !readOnly && queue.accepting(),
    health: () => ({ ...queue.health(), evicted: (inline?.evicted ?? 0) + (thread?.evicted ?? 0) }),
    query: async (filter: AuditFilter, page: PageRequest) => runQuery(dbs, filter, page, rollup.counts),
    iterate: (filter: AuditFilter, options?: IterateOptions) => asyncIterable(iterateMatches(dbs, filter, rollup.counts, options?.withoutBodies)),
    statsRollup: rollup,
    checkBodies: (holders, problem) => checkBodies(dbs, holders, problem),
    flush: () => queue.flush(),
    pruneNow: (nowMs?: number) => {
      if (readOnly) return Promise.reject(new Error('audit store is open read-only'));
      return retention.runNow(nowMs);
    },
    async close() {
      await queue.flush().catch((err: unknown) => logger.error({ err }, 'audit store could not write every record before closing'));
      queue.stop();
      await retention.stop();
      await thread?.close();
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

/** The store's synchronous scan as an async iterable; returning early ends the scan (and its read transaction). */
async function* asyncIterable<T>(source: Generator<T>): AsyncGenerator<T> {
  yield* source;
}
