import type { AuditRecord } from '../audit/record.js';
import type { Logger } from '../log.js';
import type { CommitLog } from '../store/store.js';
import { describeError } from './errors.js';
import type { EncodedBatch, SignedCheckpoint, Sink } from './sink.js';

/** The shipper's follower name in the commit log: its acknowledged position, and the pin that keeps retention off. */
export const FLEET_FOLLOWER = 'fleet';
/** The position of the last checkpoint shipped (a tree size; never pins records). */
export const FLEET_CHECKPOINTS = 'fleet-checkpoints';
/** Checkpoints sent in one statement. */
const CHECKPOINT_BATCH = 500;

/** Where the node's signed checkpoints are kept (the Merkle log's TreeStore), in tree-size order. */
export interface CheckpointSource {
  checkpointsAfter(afterSize: number, limit?: number): SignedCheckpoint[];
}

export interface ShipperOptions {
  batchRows: number;
  batchBytes: number;
  retryMinMs: number;
  retryMaxMs: number;
  idleMs: number;
  /** How often the sink's upkeep (partitions ahead, retention) runs. */
  maintainEveryMs: number;
  /** With the Merkle log on: its signed checkpoints ship after the records they cover. */
  checkpoints?: CheckpointSource;
  /** Called after each batch is acknowledged, with the time it was. */
  onShipped?: (batch: readonly AuditRecord[], ackedAtMs: number) => void;
}

/** Records encoded between two turns of the event loop while the sink stores the batches before. */
const ENCODE_CHUNK = 250;

/** Longest a shutdown waits for the batches in the sink, and then for the sink to close. */
const STOP_WAIT_MS = 5_000;

interface Batch {
  records: AuditRecord[];
  encoded: EncodedBatch;
}

export type ShipperState = 'starting' | 'shipping' | 'failing';

/**
 * Follows the store's commit log and sends each committed record to the sink, in batches capped by rows and bytes.
 * The acknowledged position moves only after the sink made a batch durable, in order, so a crash re-sends at most the
 * batches that were in the sink (which it stores once). A failed batch is retried with backoff and jitter, forever:
 * nothing is dropped.
 * Proxied traffic never waits on it: it reads what the store already committed.
 */
export class Shipper {
  state: ShipperState = 'starting';
  lastError: string | null = null;
  shippedRecords = 0;
  shippedBatches = 0;
  failures = 0;
  private acked: number;
  /** Failures since the last batch acknowledged: the backoff's exponent. */
  private failureStreak = 0;
  private stopping = false;
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private nextMaintenance = 0;

  constructor(private readonly log: CommitLog, private readonly sink: Sink, private readonly options: ShipperOptions, private readonly logger: Logger) {
    this.acked = log.position(FLEET_FOLLOWER);
  }

  start(): void {
    this.running ??= this.run();
  }

  /**
   * Stops after the batches in the sink (whose position is then saved, or which are re-sent on the next start), waiting
   * at most STOP_WAIT_MS for it and for the sink to close: an unreachable server must not hold up a shutdown.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await within(STOP_WAIT_MS, this.running ?? Promise.resolve());
    await within(STOP_WAIT_MS, this.sink.close());
  }

  /** The last seq the sink acknowledged. */
  position(): number {
    return this.acked;
  }

  private async run(): Promise<void> {
    let prepared = false;
    while (!this.stopping) {
      try {
        if (!prepared) await this.sink.prepare();
        prepared = true;
        await this.shipCheckpoints();
        await this.shipAvailable();
        this.failureStreak = 0;
        this.enter('shipping', null);
        await this.maintainOrIdle();
      } catch (error) {
        this.failureStreak++;
        this.failures++;
        this.enter('failing', describeError(error));
        await this.sleep(backoffMs(this.failureStreak, this.options.retryMinMs, this.options.retryMaxMs));
      }
    }
  }

  /**
   * Ships every committed record after the acknowledged position, with up to `sink.parallel` batches in the sink at
   * once, and reads and encodes the next batch while they are stored. Batches are acknowledged in order, each only
   * after the sink made it and every batch before it durable. On a failure the batches still in the sink are let
   * finish, and the next attempt reads again from the acknowledged position (what was stored is not stored twice).
   */
  private async shipAvailable(): Promise<void> {
    const inSink: { records: AuditRecord[]; written: Promise<void> }[] = [];
    let readAfter = this.acked;
    let ahead: Promise<Batch> | null = null;
    try {
      for (;;) {
        while (!this.stopping && inSink.length < this.sink.parallel) {
          const batch: Batch = await (ahead ?? this.nextBatch(readAfter));
          ahead = null;
          if (batch.records.length === 0) break;
          readAfter = batch.records[batch.records.length - 1]!.seq!;
          const written = this.sink.write(batch.records, batch.encoded);
          written.catch(() => undefined); // awaited in order below
          inSink.push({ records: batch.records, written });
        }
        const oldest = inSink[0];
        if (!oldest) return;
        if (!this.stopping && !ahead) { // the next batch is read and encoded while the sink stores the ones before
          ahead = this.nextBatch(readAfter);
          ahead.catch(() => undefined); // awaited when it is sent; after a failure, read again
        }
        await oldest.written;
        inSink.shift();
        await this.acknowledge(oldest.records);
        await this.shipCheckpoints();
      }
    } finally {
      await Promise.allSettled(inSink.map((batch) => batch.written));
    }
  }

  private async acknowledge(records: readonly AuditRecord[]): Promise<void> {
    const last = records[records.length - 1]!.seq!;
    await this.log.setPosition(FLEET_FOLLOWER, last);
    this.acked = last;
    this.shippedRecords += records.length;
    this.shippedBatches++;
    this.failureStreak = 0;
    this.enter('shipping', null);
    this.options.onShipped?.(records, Date.now());
  }

  /** Signed checkpoints whose records are all acknowledged, after the last one shipped. */
  private async shipCheckpoints(): Promise<void> {
    const source = this.options.checkpoints;
    if (!source) return;
    for (;;) {
      const shipped = this.log.position(FLEET_CHECKPOINTS);
      const due = source.checkpointsAfter(shipped, CHECKPOINT_BATCH).filter((c) => c.size <= this.acked);
      if (due.length === 0) return;
      await this.sink.writeCheckpoints(due);
      await this.log.setPosition(FLEET_CHECKPOINTS, due[due.length - 1]!.size);
    }
  }

  /**
   * Committed records after `afterSeq` with their stored bytes, up to batchRows and batchBytes (always at least one).
   * The stored bytes are visited in place (no copy) and encoded beside their record, ENCODE_CHUNK records at a time
   * with the event loop let through between chunks: the batches in the sink get their COPY to PostgreSQL meanwhile.
   */
  private async nextBatch(afterSeq: number): Promise<Batch> {
    const candidates = this.log.readRecords(afterSeq, this.options.batchRows);
    const encoded = this.sink.newBatch();
    let taken = 0;
    let full = false;
    const add = (stored: Uint8Array | undefined): void => {
      const before = encoded.size;
      encoded.add(candidates[taken]!, stored);
      if (taken > 0 && encoded.size > this.options.batchBytes) {
        encoded.truncate(before);
        full = true;
      } else taken++;
    };
    for (let from = 0; from < candidates.length && !full; from += ENCODE_CHUNK) {
      const end = Math.min(candidates.length, from + ENCODE_CHUNK);
      this.log.visitLog(candidates[from]!.seq!, candidates[end - 1]!.seq!, (seq, _ms, _id, bytes) => {
        while (!full && taken < end && candidates[taken]!.seq! < seq) add(undefined);
        if (!full && taken < end && candidates[taken]!.seq === seq) add(bytes);
      });
      while (!full && taken < end) add(undefined);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { records: candidates.slice(0, taken), encoded };
  }

  private async maintainOrIdle(): Promise<void> {
    const now = Date.now();
    if (now >= this.nextMaintenance) {
      await this.sink.maintain(now);
      this.nextMaintenance = now + this.options.maintainEveryMs;
    }
    await this.sleep(this.options.idleMs);
  }

  /** One log line per change of state, never one per retry. */
  private enter(state: ShipperState, error: string | null): void {
    this.lastError = error;
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    const context = { sink: this.sink.name, acknowledged: this.acked, lagRecords: this.log.lastSeq() - this.acked };
    if (state === 'failing') this.logger.warn({ ...context, error }, 'fleet sink degraded: shipping failed; retrying with backoff, nothing is dropped');
    else if (previous === 'failing') this.logger.info({ ...context, failures: this.failures }, 'fleet sink recovered: shipping again');
    else this.logger.info(context, 'fleet sink ready: shipping');
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }
}

/** Exponential from minMs, capped at maxMs, with jitter (half to all of it) so a fleet does not retry in step. */
export function backoffMs(failures: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** Resolves when `work` settles or after ms, whichever is first (the timer never keeps the process alive). */
async function within(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms).unref();
  });
  await Promise.race([work.then(() => undefined, () => undefined), timeout]);
  clearTimeout(timer);
}
