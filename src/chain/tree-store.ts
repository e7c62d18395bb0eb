import type { Database, RootDatabase } from 'lmdb';
import { EMPTY_ROOT, Frontier, HASH_BYTES, nodeHash, splitPoint } from './merkle.js';

/** Node keys: level * LEVEL_STRIDE + index, one ordered number (2^44 leaves is far beyond any store). */
const LEVEL_STRIDE = 2 ** 44;

export class NoMerkleLogError extends Error {
  override name = 'NoMerkleLogError';
  constructor() {
    super('this store has no Merkle log: no server with chain.enabled has run on it');
  }
}

/** What the log keeps per leaf: its hash, and which record it was (to name it once the record is gone). */
export interface LeafEntry {
  seq: number;
  hash: Buffer;
  createdAtMs: number;
  id: string;
}

/** A leaf the follower appends, with the interior nodes it completed. */
export interface AppendBatch {
  leaves: LeafEntry[];
  nodes: Array<{ level: number; index: number; hash: Buffer }>;
}

/**
 * The Merkle log's databases in the store's LMDB environment. Leaves (level 0) are kept by seq with the record they
 * hash; interior nodes of perfect subtrees by level and index (tlog-tiles' "stored hashes", one per entry). Nothing is
 * ever removed, so a range retention pruned keeps its subtree hashes and proofs over it still work.
 */
export class TreeStore {
  private readonly leaves: Database<Buffer, number>;
  private readonly nodes: Database<Buffer, number>;
  private readonly ids: Database<number, string>;
  private readonly checkpoints: Database<string, number>;

  /** Creates the databases when missing; in a read-only environment without them, throws NoMerkleLogError. */
  constructor(private readonly env: RootDatabase) {
    const open = <V, K extends number | string>(name: string, encoding?: 'binary' | 'string') => {
      const db = env.openDB<V, K>({ name, ...(encoding ? { encoding } : {}) }) as Database<V, K> | undefined;
      if (!db) throw new NoMerkleLogError();
      return db;
    };
    this.leaves = open<Buffer, number>('chain_leaves', 'binary');
    this.nodes = open<Buffer, number>('chain_nodes', 'binary');
    this.ids = open<number, string>('chain_ids');
    this.checkpoints = open<string, number>('chain_checkpoints', 'string');
  }

  /** Leaves in the log (leaf index = seq - 1). */
  size(): number {
    for (const seq of this.leaves.getKeys({ reverse: true, limit: 1 })) return seq as number;
    return 0;
  }

  leaf(seq: number): LeafEntry | undefined {
    const value = this.leaves.getBinary(seq);
    return value ? decodeLeaf(seq, value) : undefined;
  }

  /** Leaves with seq in [fromSeq, toSeq], ascending, read lazily. */
  *leafRange(fromSeq: number, toSeq: number): Generator<LeafEntry> {
    for (const { key, value } of this.leaves.getRange({ start: fromSeq, end: toSeq + 1 })) yield decodeLeaf(key as number, value);
  }

  /** The seq of the record with this id, if the log has it. */
  seqOf(id: string): number | undefined {
    return this.ids.get(id);
  }

  /** The stored hash of the perfect subtree at (level, index); undefined when the log does not have it. */
  node(level: number, index: number): Buffer | undefined {
    if (level === 0) return this.leaf(index + 1)?.hash;
    return this.nodes.getBinary(level * LEVEL_STRIDE + index);
  }

  /** Stored nodes of one level with index in [from, to), ascending: one cursor instead of a lookup each. */
  *levelRange(level: number, from: number, to: number): Generator<{ index: number; hash: Buffer }> {
    const range = this.nodes.getRange({ start: level * LEVEL_STRIDE + from, end: level * LEVEL_STRIDE + to });
    for (const { key, value } of range) yield { index: (key as number) - level * LEVEL_STRIDE, hash: value };
  }

  /** MTH(D[lo:hi]) from stored hashes: perfect aligned ranges are one read, others split as RFC 9162 does. */
  readonly subtree = (lo: number, hi: number): Buffer => {
    const width = hi - lo;
    const level = Math.log2(width);
    if (Number.isInteger(level) && lo % width === 0) {
      const found = this.node(level, lo / width);
      if (!found) throw new Error(`the Merkle log lacks its node at level ${level}, index ${lo / width}`);
      return found;
    }
    const k = splitPoint(width);
    return nodeHash(this.subtree(lo, lo + k), this.subtree(lo + k, hi));
  };

  rootAt(size: number): Buffer {
    return size === 0 ? EMPTY_ROOT : this.subtree(0, size);
  }

  /** The right edge of the tree of `size` leaves, to continue appending. */
  frontierAt(size: number): Frontier {
    const nodes: Array<{ level: number; hash: Buffer }> = [];
    let lo = 0;
    for (let level = Math.floor(Math.log2(Math.max(size, 1))); level >= 0; level--) {
      const width = 2 ** level;
      if (lo + width > size) continue;
      nodes.push({ level, hash: this.subtree(lo, lo + width) });
      lo += width;
    }
    return new Frontier(size, nodes);
  }

  /** Writes leaves, their id index entries and completed nodes in one transaction. */
  append(batch: AppendBatch): Promise<boolean> {
    return this.env.transaction(() => {
      for (const leaf of batch.leaves) {
        this.leaves.put(leaf.seq, encodeLeaf(leaf));
        this.ids.put(leaf.id, leaf.seq);
      }
      for (const node of batch.nodes) this.nodes.put(node.level * LEVEL_STRIDE + node.index, node.hash);
      return true;
    });
  }

  putCheckpoint(size: number, note: string): Promise<boolean> {
    return this.checkpoints.put(size, note);
  }

  /** The newest signed checkpoint and its tree size, or null before the first. */
  latestCheckpoint(): { size: number; note: string } | null {
    for (const { key, value } of this.checkpoints.getRange({ reverse: true, limit: 1 })) return { size: key as number, note: value };
    return null;
  }

  /**
   * Signed checkpoints with tree size above `afterSize`, ascending, at most `limit`: how verify walks them and how a
   * shipper can send them after the records they cover.
   */
  checkpointsAfter(afterSize: number, limit = Infinity): Array<{ size: number; note: string }> {
    const range = this.checkpoints.getRange({ start: afterSize + 1, ...(limit === Infinity ? {} : { limit }) });
    return Array.from(range, ({ key, value }) => ({ size: key as number, note: value }));
  }
}

function encodeLeaf(leaf: LeafEntry): Buffer {
  const id = Buffer.from(leaf.id);
  const out = Buffer.allocUnsafe(HASH_BYTES + 8 + id.length);
  leaf.hash.copy(out, 0);
  out.writeDoubleBE(leaf.createdAtMs, HASH_BYTES);
  id.copy(out, HASH_BYTES + 8);
  return out;
}

function decodeLeaf(seq: number, value: Buffer): LeafEntry {
  return {
    seq,
    hash: Buffer.from(value.subarray(0, HASH_BYTES)),
    createdAtMs: value.readDoubleBE(HASH_BYTES),
    id: value.toString('utf8', HASH_BYTES + 8),
  };
}
