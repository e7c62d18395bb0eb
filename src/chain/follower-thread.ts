import { Worker } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import { relayThreadLog, type Logger } from '../log.js';
import type { FollowerOptions } from './follower.js';
import type { NoteSigner } from './note.js';
import { compiledWorker } from '../worker-url.js';

/** What the follower's thread starts from (the signing key's KeyObjects are cloned into it, never written anywhere). */
export interface FollowerData {
  store: Config['store'];
  options: FollowerOptions;
  signer: NoteSigner;
  logLevel: string;
}

export type FollowerReply = { ready: true } | { closed: true } | { log: string };

const WORKER = compiledWorker(import.meta.url, './follower-worker.js');
/** How long closing waits for the thread's last catch-up and checkpoint before ending it. */
const CLOSE_WAIT_MS = 10_000;
/** A thread that died is started again after this long. */
const RESTART_MS = 1_000;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * Runs the ChainFollower on its own worker thread. The running thread never keeps the process alive (unref); closing asks it
 * to catch up and sign a last checkpoint, once it has finished opening the store (a thread terminated inside lmdb's
 * native open aborts the process), and terminates it only after CLOSE_WAIT_MS.
 */
export class FollowerThread {
  private worker!: Worker;
  private booted!: Promise<void>;
  private exited!: Promise<void>;
  private closing = false;

  constructor(private readonly data: FollowerData, private readonly logger: Logger) {
    this.start();
  }

  get thread(): Worker {
    return this.worker;
  }

  async close(): Promise<void> {
    this.closing = true;
    const { worker, exited } = this;
    worker.ref(); // while closing, the thread's last checkpoint keeps the process alive
    await Promise.race([this.booted, exited, delay(CLOSE_WAIT_MS)]);
    worker.postMessage({ close: true });
    const ended = await Promise.race([exited.then(() => true), delay(CLOSE_WAIT_MS).then(() => false)]);
    if (!ended) {
      this.logger.error('Merkle log thread did not close in time; ending it (the next start catches up)');
      worker.unref(); // a thread stuck in native code cannot be terminated: it must not hold the exit either
      await Promise.race([worker.terminate(), delay(CLOSE_WAIT_MS)]);
    }
  }

  private start(): void {
    const worker = new Worker(WORKER, { workerData: this.data, execArgv: [] });
    worker.unref();
    this.worker = worker;
    this.booted = new Promise((resolve) => worker.on('message', (reply: FollowerReply) => {
      if ('ready' in reply) resolve();
      if ('log' in reply) relayThreadLog(this.logger, reply.log);
    }));
    this.exited = new Promise((resolve) => worker.once('exit', (code) => {
      resolve();
      if (this.closing) return;
      this.logger.error({ code }, 'Merkle log thread exited; starting it again');
      void delay(RESTART_MS).then(() => this.closing || this.start());
    }));
    worker.on('error', (err) => this.logger.error({ err }, 'Merkle log thread failed'));
  }
}
