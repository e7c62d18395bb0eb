import type { Logger } from '../log.js';
import type { CommitLog, LogEntry } from '../store/store.js';
import { signCheckpoint } from './checkpoint.js';
import { leafHash, type Frontier } from './merkle.js';
import type { NoteSigner } from './note.js';
import type { AppendBatch, TreeStore } from './tree-store.js';

/** The follower's name in the commit log: its persisted position, and the pin that holds retention back. */
export const CHAIN_FOLLOWER = 'chain';

/** Records hashed per transaction: small enough that one batch never holds the event loop for long. */
const BATCH = 500;

export interface FollowerOptions {
  pollMs: number;
  checkpointIntervalMs: number;
}

/**
 * Follows the store's commit log off the request path: hashes each committed record's stored bytes into the next
 * leaf, stores the tree's hashes, advances its position, and signs a checkpoint every checkpointIntervalMs while the
 * tree grows. Runs in one process only (runsFollowers), so it is the log's only writer.
 */
export class ChainFollower {
  private frontier: Frontier;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastCheckpointAt = 0;
  private gapReported = 0;

  constructor(
    private readonly log: CommitLog,
    private readonly tree: TreeStore,
    private readonly signer: NoteSigner,
    private readonly options: FollowerOptions,
    private readonly logger: Logger,
  ) {
    log.pin(CHAIN_FOLLOWER);
    this.frontier = tree.frontierAt(tree.size());
  }

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.options.pollMs).unref();
  }

  /** One catch-up pass (or the one running); never rejects, a failure is logged and retried on the next tick. */
  runOnce(): Promise<void> {
    this.running ??= this.catchUp()
      .then(() => this.checkpointIfDue(false))
      .catch((err: unknown) => this.logger.error({ err }, 'Merkle log follower failed; retrying'))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  /** Stops polling, logs what is committed so far and signs a last checkpoint. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    await this.catchUp().then(() => this.checkpointIfDue(true))
      .catch((err: unknown) => this.logger.error({ err }, 'Merkle log could not catch up before closing'));
  }

  private async catchUp(): Promise<void> {
    for (;;) {
      const size = this.frontier.size;
      const entries = contiguous(this.log.readLog(size, BATCH), size + 1);
      if (entries.length === 0) {
        this.reportGap(size);
        return;
      }
      const batch = this.hash(entries);
      await this.tree.append(batch).catch((error: unknown) => {
        this.frontier = this.tree.frontierAt(this.tree.size()); // the hashes just added were not stored
        throw error;
      });
      await this.log.setPosition(CHAIN_FOLLOWER, this.frontier.size);
    }
  }

  private hash(entries: LogEntry[]): AppendBatch {
    const batch: AppendBatch = { leaves: [], nodes: [] };
    for (const entry of entries) {
      const hash = leafHash(entry.bytes);
      batch.leaves.push({ seq: entry.seq, hash, createdAtMs: entry.createdAtMs, id: entry.id });
      this.frontier.append(hash, (level, index, node) => batch.nodes.push({ level, index, hash: node }));
    }
    return batch;
  }

  /** A committed seq whose record is gone before the log read it can never be logged: say so once, loudly. */
  private reportGap(size: number): void {
    if (this.log.lastSeq() <= size || this.gapReported === size + 1) return;
    this.gapReported = size + 1;
    this.logger.error({ seq: size + 1 }, 'Merkle log stopped: the committed record at this seq is missing from the store');
  }

  private async checkpointIfDue(force: boolean): Promise<void> {
    const size = this.frontier.size;
    const latest = this.tree.latestCheckpoint();
    if (size === 0 || (latest && latest.size >= size)) return;
    if (!force && Date.now() - this.lastCheckpointAt < this.options.checkpointIntervalMs) return;
    const note = signCheckpoint({ origin: this.signer.name, size, root: this.frontier.root() }, this.signer);
    await this.tree.putCheckpoint(size, note);
    this.lastCheckpointAt = Date.now();
  }
}

/** The run of entries that continues the log at `nextSeq` without a hole. */
function contiguous(entries: LogEntry[], nextSeq: number): LogEntry[] {
  let n = 0;
  while (n < entries.length && entries[n]!.seq === nextSeq + n) n++;
  return n === entries.length ? entries : entries.slice(0, n);
}
