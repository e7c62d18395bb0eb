import { Worker } from 'node:worker_threads';
import type { AppendedRecord } from '../audit/raw-body.js';
import type { Config } from '../config/schema.js';
import { relayThreadLog, type Logger } from '../log.js';
import { compiledWorker } from '../worker-url.js';
import type { BatchWriter } from './batch-writer.js';

export interface WriterData {
  store: Config['store'];
  /** capture.redactKeys: the thread settles the records' raw bodies. */
  redactKeys: readonly string[];
  logLevel: string;
}

export type WriterMessage = { batch: AppendedRecord[] } | { pin: string } | { close: true };

/** A failed batch's error, by name so that the queue tells a record's fault (TypeError, RangeError) from the store's. */
export interface WriteFailure {
  name: string;
  message: string;
}

export type WriterReply =
  | { ready: true }
  | { written: true; firstSeq: number; evicted: number }
  | { failed: WriteFailure; evicted: number }
  | { log: string }
  | { closed: true };

const WORKER = compiledWorker(import.meta.url, './writer-worker.js');
/** How long closing waits for the thread to open the store, and then to end, before terminating it. */
const CLOSE_WAIT_MS = 10_000;
/** A thread that died is started again after this long, doubled for each start in a row that never opened the store. */
const RESTART_MS = 1_000;
const RESTART_MAX_MS = 60_000;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** The batch's thread died before the batch was in the store whole: nothing was wrong with the batch or the store. */
export class WriterThreadExitedError extends Error {
  constructor() {
    super('audit store writer thread exited while writing this batch');
    this.name = 'WriterThreadExitedError';
  }
}

interface InFlight {
  batch: AppendedRecord[];
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Commits the store's batches on a thread of its own. The transaction's callback (encoding, index postings, rollup)
 * then never waits behind the proxy's sockets on the main event loop, nor holds them up. One batch at a time (the
 * write queue sends the next after this one settles), and only while `ready`: the store writes inline while the
 * thread starts (about 250 ms) or restarts. A thread that dies is started again; a batch it was writing counts as
 * written only if it is in the store whole (`committedLastSeq`), so a retry never writes it twice.
 */
export class WriterThread implements BatchWriter {
  private worker!: Worker;
  private booted!: Promise<void>;
  private exited!: Promise<void>;
  private inFlight: InFlight | null = null;
  /** The current thread has the store open: until then (starting, or restarting after a death) batches go elsewhere. */
  private up = false;
  /** Threads in a row that died before opening the store (a store this thread cannot open: writes stay inline). */
  private failedStarts = 0;
  private readonly pins: string[] = [];
  private closing = false;
  /** Records the map-size guard evicted, in every thread so far (each reply says how many since the one before). */
  evicted = 0;

  constructor(
    private readonly data: WriterData,
    /** The seq of the batch's last record if the batch is in the store whole, asked once any commit under way has landed. */
    private readonly committedLastSeq: (batch: AppendedRecord[]) => Promise<number | undefined>,
    private readonly afterCommit: () => void,
    private readonly logger: Logger,
  ) {
    this.start();
  }

  get thread(): Worker {
    return this.worker;
  }

  /** Takes batches: started, the store open, not closing. */
  get ready(): boolean {
    return this.up && !this.closing;
  }

  write(batch: AppendedRecord[]): Promise<void> {
    if (!this.ready) return Promise.reject(new Error('audit store writer thread is not running'));
    return new Promise((resolve, reject) => {
      this.inFlight = { batch, resolve, reject };
      this.worker.ref(); // a batch being written keeps the process alive, as lmdb's own writer does
      this.post({ batch });
    });
  }

  /** Eviction in the thread must keep what this follower has not passed yet. */
  pin(name: string): void {
    this.pins.push(name);
    this.post({ pin: name });
  }

  async close(): Promise<void> {
    this.closing = true;
    const { worker, exited } = this;
    worker.ref(); // while closing, the thread's last commit keeps the process alive
    await Promise.race([this.booted, exited, delay(CLOSE_WAIT_MS)]); // terminated inside lmdb's open, it would abort the process
    worker.postMessage({ close: true } satisfies WriterMessage);
    const ended = await Promise.race([exited.then(() => true), delay(CLOSE_WAIT_MS).then(() => false)]);
    if (!ended) {
      this.logger.error('audit store writer thread did not close in time; ending it');
      await Promise.race([worker.terminate(), delay(CLOSE_WAIT_MS)]);
    }
  }

  private post(message: WriterMessage): void {
    this.worker.postMessage(message);
  }

  private start(): void {
    const worker = new Worker(WORKER, { workerData: this.data, execArgv: [] });
    worker.unref();
    this.worker = worker;
    for (const name of this.pins) this.post({ pin: name });
    this.booted = new Promise((resolve) => worker.on('message', (reply: WriterReply) => {
      if ('ready' in reply) {
        this.up = true;
        this.failedStarts = 0;
        resolve();
      } else if ('log' in reply) relayThreadLog(this.logger, reply.log);
      else if ('written' in reply || 'failed' in reply) {
        this.afterCommit();
        this.settle(reply.evicted, 'written' in reply ? reply.firstSeq : errorOf(reply.failed));
      }
    }));
    this.exited = new Promise((resolve) => worker.once('exit', (code) => {
      resolve();
      const wasUp = this.up;
      this.up = false;
      if (this.closing) return;
      if (!wasUp) this.failedStarts++;
      if (this.failedStarts <= 1) this.logger.error({ code }, 'audit store writer thread exited; starting it again (batches are written inline meanwhile)');
      void this.recover();
      void delay(Math.min(RESTART_MAX_MS, RESTART_MS * 2 ** this.failedStarts)).then(() => this.closing || this.start());
    }));
    worker.on('error', (err) => {
      if (this.failedStarts === 0) this.logger.error({ err }, 'audit store writer thread failed');
    });
  }

  /** Ends the batch in flight: written from `firstSeq` on (each record gets its seq, as an inline write gives it), or failed. */
  private settle(evicted: number, outcome: number | Error): void {
    this.evicted += evicted;
    const inFlight = this.inFlight;
    this.inFlight = null;
    this.worker.unref();
    if (!inFlight) return;
    if (outcome instanceof Error) return inFlight.reject(outcome);
    inFlight.batch.forEach((record, i) => record.seq = outcome + i);
    inFlight.resolve();
  }

  /**
   * The batch of a thread that died: written if it is in the store whole, else failed and written again. A thread
   * terminated inside the transaction's callback leaves what it had put committed: records and postings are put
   * again under the same keys by the retry, but the rollups may then count part of the batch twice.
   */
  private async recover(): Promise<void> {
    if (!this.inFlight) return;
    const { batch } = this.inFlight;
    const lastSeq = await this.committedLastSeq(batch);
    this.settle(0, lastSeq === undefined ? new WriterThreadExitedError() : lastSeq - batch.length + 1);
  }
}

const ERRORS: Record<string, new (message: string) => Error> = { TypeError, RangeError };

/** The thread's error again, of its class where the queue tells classes apart, and under its name. */
function errorOf(failure: WriteFailure): Error {
  const error = new (ERRORS[failure.name] ?? Error)(failure.message);
  error.name = failure.name;
  return error;
}
