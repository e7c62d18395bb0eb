import type { AppendedRecord } from '../audit/raw-body.js';
import type { Logger } from '../log.js';
import type { StoreHealth } from './store.js';
import { DropLog } from './drop-log.js';
import { isRecordError, isReduced, reducedRecord } from './reduced-record.js';

export interface WriteQueueOptions {
  capacity: number;
  batchMax: number;
  onFailure: 'closed' | 'open';
  retryMs: number;
  /** Commits a batch (records and index entries in one transaction); rejects when it did not. */
  write: (batch: AppendedRecord[]) => Promise<void>;
  logger: Logger;
}

/**
 * Group commit: the least time between the starts of two batches, unless batchMax records wait. At low and
 * medium rates one transaction per request would cost a commit (dirty B-tree pages, two fsyncs) per record;
 * waiting this long gathers them. A kill -9 can lose only uncommitted records, as before.
 */
const COMMIT_INTERVAL_MS = 10;

interface FlushWaiter {
  /** Settled once this many queued records have been written (or dropped, in open mode). */
  target: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Holds appended records and writes them in batches, one batch in flight at a time, in append order.
 * closed mode: a failed batch goes back to the head of the queue and is retried after retryMs; the queue
 * refuses new work (accepting() false) while failing or at capacity. open mode: what cannot be queued or
 * written is dropped, counted and logged. Either mode: a batch failing for the shape of one record (isRecordError)
 * is tried again in halves until that record is alone, which is then stored reduced (reduced-record.ts).
 */
export class WriteQueue {
  private pending: AppendedRecord[] = [];
  private inFlight = 0;
  private queued = 0;
  private settled = 0;
  private written = 0;
  private dropped = 0;
  private failing = false;
  private full = false;
  private lastError: string | null = null;
  private scheduled = false;
  private lastBatchAt = 0;
  private commitTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private waiters: FlushWaiter[] = [];
  private stopped = false;
  private readonly dropLog: DropLog;
  /** While isolating a record the store cannot hold: the batch size to try, and how many records of the failed batch are left. */
  private probe: { size: number; left: number } | null = null;

  constructor(private readonly options: WriteQueueOptions) {
    this.dropLog = new DropLog(options.logger);
  }

  append(record: AppendedRecord): boolean {
    if (this.stopped || this.depth() >= this.hardLimit()) {
      this.drop(1, this.stopped ? 'store closed' : 'queue full');
      return false;
    }
    this.pending.push(record);
    this.queued++;
    this.updateFull();
    this.schedule();
    return true;
  }

  accepting(): boolean {
    if (this.stopped) return false;
    return this.options.onFailure === 'open' || (!this.failing && !this.full);
  }

  health(): StoreHealth {
    return {
      ok: !this.failing && !this.full,
      queueDepth: this.depth(),
      queueCapacity: this.options.capacity,
      written: this.written,
      dropped: this.dropped,
      lastError: this.lastError,
    };
  }

  /** Resolves once every record queued so far is written; rejects if a write fails first. */
  flush(): Promise<void> {
    if (this.settled >= this.queued) return Promise.resolve();
    if (this.commitTimer) this.writeScheduled(); // someone waits: no reason to gather more
    return new Promise((resolve, reject) => this.waiters.push({ target: this.queued, resolve, reject }));
  }

  /** Stops retrying and logs what could not be written; returns how many records that was. */
  stop(): number {
    this.stopped = true;
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.commitTimer = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const unwritten = this.depth();
    if (unwritten > 0) this.drop(unwritten, 'store closed before these records could be written');
    this.pending = [];
    this.rejectWaiters(new Error('audit store closed'));
    this.dropLog.emit();
    return unwritten;
  }

  private depth(): number {
    return this.pending.length + this.inFlight;
  }

  /** Closed mode keeps queueing past capacity for requests already admitted, up to twice the capacity. */
  private hardLimit(): number {
    return this.options.onFailure === 'open' ? this.options.capacity : 2 * this.options.capacity;
  }

  /** Full at capacity; accepting again once the queue has drained to half of it (no flapping). */
  private updateFull(): void {
    const depth = this.depth();
    if (depth >= this.options.capacity) this.full = true;
    else if (depth <= this.options.capacity / 2) this.full = false;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight > 0 || this.retryTimer || this.pending.length === 0) return;
    this.scheduled = true;
    const wait = this.lastBatchAt + COMMIT_INTERVAL_MS - performance.now();
    if (wait <= 0 || this.pending.length >= this.options.batchMax) {
      setImmediate(this.writeScheduled);
    } else {
      this.commitTimer = setTimeout(this.writeScheduled, wait);
    }
  }

  private readonly writeScheduled = (): void => {
    this.scheduled = false;
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.commitTimer = null;
    this.writeNext();
  };

  private writeNext(): void {
    if (this.inFlight > 0 || this.pending.length === 0) return;
    const batch = this.pending.splice(0, this.probe?.size ?? this.options.batchMax);
    this.inFlight = batch.length;
    this.lastBatchAt = performance.now();
    new Promise<void>((resolve) => resolve(this.options.write(batch)))
      .then(() => this.onWritten(batch), (error: unknown) => this.onFailed(batch, error));
  }

  private onWritten(batch: AppendedRecord[]): void {
    this.inFlight = 0;
    this.written += batch.length;
    this.settled += batch.length;
    if (this.probe && (this.probe.left -= batch.length) <= 0) this.probe = null;
    if (this.failing) this.options.logger.info({ lastError: this.lastError }, 'audit store writes recovered');
    this.failing = false;
    this.afterBatch();
  }

  private onFailed(batch: AppendedRecord[], error: unknown): void {
    this.inFlight = 0;
    if (isRecordError(error) && this.isolate(batch, error)) return;
    this.lastError = error instanceof Error ? error.message : String(error);
    if (this.options.onFailure === 'open') {
      this.settled += batch.length;
      this.drop(batch.length, `write failed: ${this.lastError}`);
    } else {
      if (!this.failing) this.options.logger.error({ err: error, records: batch.length }, 'audit store write failed; retrying');
      this.failing = true;
      this.pending.unshift(...batch);
      this.rejectWaiters(new Error(`audit store write failed: ${this.lastError}`));
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.schedule();
      }, this.options.retryMs);
    }
    this.afterBatch();
  }

  /**
   * Puts the batch back to be tried in halves, or its one record reduced; false when that record was already
   * reduced (the failure is the store's: the usual policy applies).
   */
  private isolate(batch: AppendedRecord[], error: unknown): boolean {
    if (batch.length === 1 && isReduced(batch[0]!)) return false;
    if (batch.length > 1) {
      this.probe = { size: Math.ceil(batch.length / 2), left: Math.max(this.probe?.left ?? 0, batch.length) };
      this.pending.unshift(...batch);
    } else {
      const [record] = batch as [AppendedRecord];
      this.options.logger.error({ err: error, id: String(record.id), requestId: String(record.requestId) },
        'audit record could not be stored as it was; storing it reduced (no query, headers or bodies)');
      this.pending.unshift(reducedRecord(record, error));
    }
    this.afterBatch();
    return true;
  }

  private afterBatch(): void {
    this.updateFull();
    this.resolveWaiters();
    this.schedule();
  }

  private resolveWaiters(): void {
    const done = this.waiters.filter((waiter) => waiter.target <= this.settled);
    this.waiters = this.waiters.filter((waiter) => waiter.target > this.settled);
    for (const waiter of done) waiter.resolve();
  }

  private rejectWaiters(error: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  private drop(count: number, reason: string): void {
    this.dropped += count;
    this.dropLog.report(count, reason);
  }
}
