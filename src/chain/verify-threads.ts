import { Worker } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import type { CommitLog } from '../store/store.js';
import type { TreeStore } from './tree-store.js';
import { checkLeaves, StoredTiles, type LeafCheck } from './verify-leaves.js';
import { compiledWorker } from '../worker-url.js';

/** Checks ranges of leaves against the stored records: in verify's own thread, or spread over threads. */
export interface LeafChecker {
  check(from: number, to: number): Promise<LeafCheck>;
  close(): Promise<void>;
}

/** What a verify thread opens: the store, read-only. */
export interface VerifyThreadData {
  store: Config['store'];
}

export interface CheckRequest {
  id: number;
  from: number;
  to: number;
}

export type CheckReply = { id: number; check: LeafCheck; error?: undefined } | { id: number; error: string; check?: undefined };

const WORKER = compiledWorker(import.meta.url, './verify-worker.js');

export function localChecker(log: CommitLog, tree: TreeStore): LeafChecker {
  const stored = new StoredTiles(tree);
  return {
    check: (from, to) => Promise.resolve(checkLeaves(log, stored, from, to)),
    close: () => Promise.resolve(),
  };
}

interface Pending {
  resolve(check: LeafCheck): void;
  reject(error: Error): void;
}

/** Leaf checks on `count` worker threads, each given the next range when it has the fewest outstanding; started lazily. */
export class ThreadChecker implements LeafChecker {
  private workers: Array<{ worker: Worker; outstanding: number }> = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(private readonly data: VerifyThreadData, private readonly count: number) {}

  check(from: number, to: number): Promise<LeafCheck> {
    if (this.workers.length === 0) this.start();
    const slot = this.workers.reduce((a, b) => (b.outstanding < a.outstanding ? b : a));
    const id = this.nextId++;
    slot.outstanding++;
    return new Promise<LeafCheck>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, from, to } satisfies CheckRequest);
    }).finally(() => slot.outstanding--);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
    this.workers = [];
  }

  private start(): void {
    for (let i = 0; i < this.count; i++) {
      const worker = new Worker(WORKER, { workerData: this.data, execArgv: [] });
      worker.on('message', (reply: CheckReply) => this.settle(reply));
      worker.on('error', (err) => this.failAll(err));
      worker.on('exit', (code) => this.failAll(new Error(`a verify thread exited (code ${code})`)));
      this.workers.push({ worker, outstanding: 0 });
    }
  }

  private settle(reply: CheckReply): void {
    const waiting = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (reply.check) waiting?.resolve(asBuffers(reply.check));
    else waiting?.reject(new Error(reply.error));
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}

/** A check as it arrives from a thread: its byte arrays back as Buffers (the message carried them as Uint8Arrays). */
function asBuffers(check: LeafCheck): LeafCheck {
  const buffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { ...check, leaves: buffer(check.leaves), mismatches: check.mismatches.map((m) => ({ ...m, storedHash: buffer(m.storedHash) })) };
}
