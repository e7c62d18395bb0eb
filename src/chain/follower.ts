import type { Logger } from '../log.js';
import type { CommitLog } from '../store/store.js';
import { parseCheckpointText, signCheckpoint } from './checkpoint.js';
import { LeafRecordsDigest } from './leaf-records-digest.js';
import { HASH_BYTES, leafHashInto, type TreeEdge } from './merkle.js';
import type { NoteSigner } from './note.js';
import { packRecords } from './tiles.js';
import type { LeafRecords, TreeStore } from './tree-store.js';

/** The follower's name in the commit log: its persisted position, and the pin that holds retention back. */
export const CHAIN_FOLLOWER = 'chain';

/**
 * Records hashed per transaction. The follower has a thread of its own, so a batch can be large: a quarter of the commits
 * of 1,024 per batch, and still only milliseconds of the store's write lock.
 */
const BATCH = 4096;

export interface FollowerOptions {
  pollMs: number;
  checkpointIntervalMs: number;
}

/**
 * Follows the store's commit log off the request path: hashes each committed record's stored bytes into the next
 * leaf, stores the tree's hashes, advances its position, and signs a checkpoint (its root and the leaves' records
 * digest) every checkpointIntervalMs while the tree grows. Runs in one process only (runsFollowers), so it is the
 * log's only writer.
 */
export class ChainFollower {
  private edge: TreeEdge | null = null;
  private leafRecords: LeafRecordsDigest | null = null;
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
    if (!this.edge) {
      await this.tree.migrate();
      const size = this.tree.size();
      this.edge = this.tree.edgeAt(size);
      this.leafRecords = LeafRecordsDigest.of(this.tree, size);
    }
    for (;;) {
      const edge: TreeEdge = this.edge;
      const { hashes, leaves } = this.read(edge.size + 1);
      if (leaves.ids.length === 0) {
        this.reportGap(edge.size);
        return;
      }
      await this.tree.append(edge.append(hashes), leaves).catch((error: unknown) => {
        this.edge = null; // the hashes just added were not stored: start again from what is
        throw error;
      });
      this.leafRecords!.add(packRecords(leaves.createdAtMs, leaves.ids));
      await this.log.setPosition(CHAIN_FOLLOWER, edge.size);
    }
  }

  /** The leaf hashes of the committed records from `firstSeq` on, up to the first hole, and their records. */
  private read(firstSeq: number): { hashes: Buffer; leaves: LeafRecords } {
    const leaves: LeafRecords = { firstSeq, createdAtMs: [], ids: [] };
    const hashes = Buffer.allocUnsafe(BATCH * HASH_BYTES);
    this.log.visitLog(firstSeq, firstSeq + BATCH - 1, (seq, createdAtMs, id, bytes) => {
      if (seq !== firstSeq + leaves.ids.length) return;
      leafHashInto(bytes, hashes, leaves.ids.length * HASH_BYTES);
      leaves.createdAtMs.push(createdAtMs);
      leaves.ids.push(id);
    });
    return { hashes: hashes.subarray(0, leaves.ids.length * HASH_BYTES), leaves };
  }

  /** A committed seq whose record is gone before the log read it can never be logged: say so once, loudly. */
  private reportGap(size: number): void {
    if (this.log.lastSeq() <= size || this.gapReported === size + 1) return;
    this.gapReported = size + 1;
    this.logger.error({ seq: size + 1 }, 'Merkle log stopped: the committed record at this seq is missing from the store');
  }

  /** Signs the tree as it is when it grew, or when the newest checkpoint predates leaf-records digests (at once). */
  private async checkpointIfDue(force: boolean): Promise<void> {
    if (!this.edge) return;
    const size = this.edge.size;
    const latest = this.tree.latestCheckpoint();
    const signsLeafRecords = latest !== null && parseCheckpointText(latest.note)?.leafRecords !== undefined;
    if (size === 0 || (latest && latest.size >= size && signsLeafRecords)) return;
    if (!force && signsLeafRecords && Date.now() - this.lastCheckpointAt < this.options.checkpointIntervalMs) return;
    const checkpoint = { origin: this.signer.name, size, root: this.edge.root(), leafRecords: this.leafRecords!.value() };
    const note = signCheckpoint(checkpoint, this.signer);
    await this.tree.putCheckpoint(size, note);
    this.lastCheckpointAt = Date.now();
  }
}
