import type { RootDatabase } from 'lmdb';
import type { AppendedRecord } from '../audit/raw-body.js';
import type { AuditRecord } from '../audit/record.js';
import type { BodyRedactor } from '../audit/redact.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { BodiesApart } from './bodies.js';
import { LmdbCommitLog } from './commit-log.js';
import { createdAtMs, isTimedRequestId, organizationOf, recordKey, type StoreDbs } from './indexes.js';
import { decodePositions, encodePositions, packedPosition } from './positions.js';
import type { Position } from './cursor.js';
import { lastSeq } from './log-batches.js';
import { PostingsBuilder } from './postings.js';
import { RequestIdPostings } from './request-postings.js';
import type { StatsRollup } from './stats-rollup.js';
import { MapSizeGuard } from './map-size.js';

/** Commits batches of records, on whichever thread made it: the store's writer thread, or the main one (`inline`). */
export interface BatchWriter {
  /** Resolves once the batch is committed, each record carrying its seq. */
  write(batch: AppendedRecord[]): Promise<void>;
  /** Records the map-size guard evicted so far. */
  readonly evicted: number;
}

/**
 * A writer over an open environment; `log` holds the follower pins eviction must respect; `rollup` counts each batch;
 * `redactor` settles the records' raw bodies.
 */
export function createBatchWriter(env: RootDatabase, dbs: StoreDbs, config: Config['store'], log: LmdbCommitLog, rollup: StatsRollup, redactor: BodyRedactor, logger: Logger): BatchWriter {
  const guard = new MapSizeGuard(env, dbs, {
    mapSizeMb: config.mapSizeMb, evictAbovePercent: config.retention.evictAbovePercent, batchSize: config.retention.batchSize,
  }, () => log.removableThrough(), logger);
  return {
    write: (batch) => writeBatch(env, dbs, batch, guard, rollup, new BodiesApart(redactor, config.bodiesApartBytes)),
    get evicted() {
      return guard.evicted;
    },
  };
}

/**
 * Records, their index postings and their commit-log entries go into one write transaction: visible together or not
 * at all. Sequence numbers are taken inside it, under LMDB's writer lock, so they are one sequence across processes.
 * The records' raw bodies are settled (decoded and redacted, and hashed when stored apart) before it, so that the
 * lock is not held for that.
 * A child transaction, because lmdb-js commits what a plain `transaction` callback put before it threw: a batch
 * failing in its rollup would leave its records and log entry behind, and its retry would log them a second time.
 * The log entry is put last: a writer thread terminated inside the callback still has what it put committed (lmdb-js
 * commits the transaction it was in), so the entry is what says the whole batch is there (`committedLastSeq`).
 */
async function writeBatch(env: RootDatabase, dbs: StoreDbs, batch: AppendedRecord[], guard: MapSizeGuard, rollup: StatsRollup, apart: BodiesApart): Promise<void> {
  await guard.check(batch.length);
  const stored = batch.map((record) => apart.settle(record));
  await env.childTransaction(() => {
    let seq = lastSeq(dbs);
    const first = seq + 1;
    const postings = new PostingsBuilder(dbs);
    const requestIds = new RequestIdPostings(dbs.requestIds!); // a read-write open always has it
    const slots: Position[] = [];
    apart.write(dbs.bodies!); // a read-write open always has them
    for (const [i, record] of batch.entries()) {
      const settled = stored[i]!;
      record.seq = settled.seq = ++seq;
      const ms = createdAtMs(record);
      dbs.records.put([ms, record.id], settled);
      const position = packedPosition(ms, record.id);
      slots.push(position);
      postings.add(record, ms, position);
      if (isTimedRequestId(record.requestId)) requestIds.add(organizationOf(record), record.requestId, position);
    }
    postings.write(first);
    requestIds.write(first);
    rollup.applyInTransaction(batch); // the stats hook: the rollup commits with the records it counts
    dbs.log.put(first, encodePositions(slots));
  });
}

/**
 * The seq of a batch's last record when the batch is committed whole: the log entry its transaction puts last is
 * there and ends with that record (another process may have logged its own batch under the same first seq).
 */
export function committedLastSeq(dbs: StoreDbs, batch: readonly AuditRecord[]): number | undefined {
  const lastRecord = batch[batch.length - 1]!;
  const stored = dbs.records.get(recordKey(lastRecord));
  if (stored?.seq === undefined) return undefined;
  const entry = dbs.log.getBinary(stored.seq - batch.length + 1);
  const slots = entry === undefined ? [] : decodePositions(entry);
  return slots.length === batch.length && slots.at(-1)?.id === lastRecord.id ? stored.seq : undefined;
}
