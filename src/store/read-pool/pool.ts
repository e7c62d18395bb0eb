import { Worker } from 'node:worker_threads';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import { InvalidCursorError } from '../cursor.js';
import type { RecordView } from '../../audit/views.js';
import type { AuditFilter, PageRequest, QueryResult, ViewPage } from '../store.js';
import { QueryTimeoutError, ReaderFailedError } from './errors.js';
import type { CloseMessage, QueryMessage, ReaderData, Reply } from './protocol.js';
import { compiledWorker } from '../../worker-url.js';

/** How long closing waits for a thread to finish opening, and then to end, before terminating it. */
const CLOSE_WAIT_MS = 5_000;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

export interface ReadPoolOptions {
  store: Config['store'];
  /** Reader threads. */
  size: number;
  /** Budget of one query, queueing included. */
  timeoutMs: number;
  logger: Logger;
}

const READER = compiledWorker(import.meta.url, './worker.js');
/** A reader that dies this soon after starting is restarted only after RESTART_DELAY_MS (a store it cannot open). */
const EARLY_EXIT_MS = 1_000;
const RESTART_DELAY_MS = 1_000;

type Answer = Exclude<Reply, { ready: true }>;
type Pending = (reply: Answer | Error) => void;

/** A query waiting for a free reader. */
interface Waiter {
  start(reader: Reader): void;
  fail(error: Error): void;
}

/** One reader thread, replaced when it dies or is cancelled. */
class Reader {
  private worker: Worker | null = null;
  /** The current thread has the store open and takes queries. */
  private booted = false;
  private startedAt = 0;
  private pending: Pending | null = null;
  private closed = false;
  /** Resolves when the first thread has the store open (or has died trying: startup never hangs on a reader). */
  readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(private readonly data: ReaderData, private readonly logger: Logger, private readonly onFree: (reader: Reader) => void) {
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.start();
  }

  get thread(): Worker | null {
    return this.worker;
  }

  get free(): boolean {
    return this.worker !== null && this.booted && this.pending === null;
  }

  run(message: QueryMessage, done: Pending): void {
    this.pending = done;
    this.worker!.postMessage(message);
  }

  /** Ends the thread, and with it the scan it is running, and starts a fresh one. */
  cancel(): void {
    const old = this.worker;
    this.pending = null;
    this.worker = null;
    void old?.terminate();
    if (!this.closed) this.start();
  }

  /**
   * Asks the thread to close its store and end, once it has finished opening it: a thread terminated inside lmdb's
   * native open aborts the whole process. Terminated only if it does not end within CLOSE_WAIT_MS.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.markReady();
    this.pending?.(new ReaderFailedError('the store is closing'));
    this.pending = null;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    if (!this.booted) await Promise.race([exited, this.booting(worker), delay(CLOSE_WAIT_MS)]);
    worker.postMessage({ close: true } satisfies CloseMessage);
    const ended = await Promise.race([exited.then(() => true), delay(CLOSE_WAIT_MS).then(() => false)]);
    if (!ended) await worker.terminate();
  }

  private booting(worker: Worker): Promise<void> {
    return new Promise((resolve) => worker.on('message', (reply: Reply) => {
      if ('ready' in reply) resolve();
    }));
  }

  private start(): void {
    const worker = new Worker(READER, { workerData: this.data, execArgv: [] });
    this.worker = worker;
    this.booted = false;
    this.startedAt = performance.now();
    worker.on('message', (reply: Reply) => {
      if (this.worker !== worker) return; // a cancelled thread's last words
      if ('ready' in reply) {
        this.booted = true;
        this.markReady();
        return this.onFree(this);
      }
      const done = this.pending;
      this.pending = null;
      done?.(reply);
      this.onFree(this);
    });
    worker.on('error', (err) => this.logger.error({ err }, 'audit reader thread failed'));
    worker.on('exit', (code) => {
      if (this.worker !== worker || this.closed) return;
      this.markReady();
      this.logger.error({ code }, 'audit reader thread exited; starting a replacement');
      const done = this.pending;
      this.pending = null;
      this.worker = null;
      done?.(new ReaderFailedError(`reader thread exited with code ${code}`));
      const early = performance.now() - this.startedAt < EARLY_EXIT_MS;
      setTimeout(() => {
        if (!this.closed) this.start();
      }, early ? RESTART_DELAY_MS : 0).unref();
    });
  }
}

/**
 * Reader threads (node:worker_threads), each with the audit store open read-only, answering queries off the event
 * loop that proxies traffic. Queries wait for a free reader; each has a time budget, and one that runs out is
 * answered with QueryTimeoutError and its scan cancelled by replacing the thread that runs it.
 */
export class ReadPool {
  private readonly readers: Reader[];
  private readonly waiting: Waiter[] = [];
  private nextId = 0;
  private readonly booted: Promise<void>;
  private closed = false;

  constructor(private readonly options: ReadPoolOptions) {
    const data: ReaderData = { store: options.store };
    this.readers = Array.from({ length: options.size }, () => new Reader(data, options.logger, (reader) => this.dispatch(reader)));
    this.booted = Promise.race(this.readers.map((reader) => reader.ready));
  }

  /**
   * The budget starts once a reader has the store open: the threads boot beside the proxy's own start (which does
   * not wait for them), and a query asked meanwhile waits for the first one.
   */
  query(filter: AuditFilter, page: PageRequest): Promise<QueryResult> {
    return this.ask(filter, page) as Promise<QueryResult>;
  }

  /** query, with the page's records serialized in `view` by the reader thread. */
  queryView(filter: AuditFilter, page: PageRequest, view: RecordView): Promise<ViewPage> {
    return this.ask(filter, page, view) as Promise<ViewPage>;
  }

  private async ask(filter: AuditFilter, page: PageRequest, view?: RecordView): Promise<QueryResult | ViewPage> {
    await this.booted;
    if (this.closed) throw new ReaderFailedError('the store is closing');
    const message: QueryMessage = { id: ++this.nextId, filter, page, ...(view !== undefined && { view }) };
    return new Promise((resolve, reject) => {
      let running: Reader | null = null;
      const settle = (reply: Answer | Error): void => {
        clearTimeout(timer);
        if (reply instanceof Error) reject(reply);
        else if (reply.ok) resolve(reply.result);
        else reject(errorOf(reply.name, reply.message));
      };
      const waiter: Waiter = {
        start(reader) {
          running = reader;
          reader.run(message, settle);
        },
        fail: settle,
      };
      const timer = setTimeout(() => {
        if (running) running.cancel();
        else this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(new QueryTimeoutError(this.options.timeoutMs));
      }, this.options.timeoutMs);
      const free = this.readers.find((reader) => reader.free);
      if (free) waiter.start(free);
      else this.waiting.push(waiter);
    });
  }

  /** The running reader threads (for diagnostics, and for tests that make one die). */
  get threads(): Worker[] {
    return this.readers.map((reader) => reader.thread).filter((worker) => worker !== null);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.fail(new ReaderFailedError('the store is closing'));
    await Promise.all(this.readers.map((reader) => reader.close()));
  }

  private dispatch(reader: Reader): void {
    if (reader.free) this.waiting.shift()?.start(reader);
  }
}

/** The store's own errors keep their type across the thread boundary (the API answers InvalidCursorError with 400). */
function errorOf(name: string, message: string): Error {
  if (name === 'InvalidCursorError') return new InvalidCursorError();
  const error = new Error(message);
  error.name = name;
  return error;
}
