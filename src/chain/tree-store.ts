import type { Database, RootDatabase } from 'lmdb';
import { LegacyTree } from './legacy-tree.js';
import { EMPTY_ROOT, HASH_BYTES, nodeHash, slot, splitPoint, TreeEdge } from './merkle.js';
import { openBinary, packedSlice, packRecords, TILE_WIDTH, tileParts, TileDbs, unpackRecords, type TileSource } from './tiles.js';

/**
 * The leaves' records packed per records tile: [tile index, records already in it, packed records], the first tile
 * continuing `previous`.
 */
function packedRecordTiles(previous: number, leaves: LeafRecords): Array<[number, number, Buffer]> {
  const tiles: Array<[number, number, Buffer]> = [];
  for (let done = 0; done < leaves.ids.length;) {
    const index = Math.floor((previous + done) / TILE_WIDTH);
    const take = Math.min(leaves.ids.length - done, (index + 1) * TILE_WIDTH - previous - done);
    const packed = packRecords(leaves.createdAtMs.slice(done, done + take), leaves.ids.slice(done, done + take));
    tiles.push([index, (previous + done) % TILE_WIDTH, packed]);
    done += take;
  }
  return tiles;
}

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

/** Leaves the follower appends: the first one's seq, and per leaf its record's creation time and id. */
export interface LeafRecords {
  firstSeq: number;
  createdAtMs: number[];
  ids: string[];
}

/**
 * The Merkle log's databases in the store's LMDB environment: the tree's hashes as tiles (tiles.ts), the leaves'
 * records beside them, `chain_ids` (record id -> seq) and the signed checkpoints. Nothing is ever removed, so a range
 * retention pruned keeps its hashes and proofs over it still work. A store written by the first release (one entry per
 * node) is read as it is until the follower's process migrates it (legacy-tree.ts).
 */
export class TreeStore {
  private readonly own: TileDbs | null;
  private legacy: LegacyTree | null;
  private readonly ids: Database<number, string>;
  private readonly checkpoints: Database<string, number>;

  /** Creates the databases when missing; in a read-only environment without them, throws NoMerkleLogError. */
  constructor(private readonly env: RootDatabase) {
    this.legacy = LegacyTree.open(env);
    // In a read-only environment, a database that is not there is not created: opening it gives undefined.
    const tiles = openBinary(env, 'chain_tiles', true);
    const records = openBinary(env, 'chain_leaf_records', true);
    const ids = env.openDB<number, string>({ name: 'chain_ids' }) as Database<number, string> | undefined;
    const checkpoints = env.openDB<string, number>({ name: 'chain_checkpoints', encoding: 'string' }) as Database<string, number> | undefined;
    this.own = tiles && records ? new TileDbs(tiles, records) : null;
    if (!ids || !checkpoints || (!this.legacy && !this.own)) throw new NoMerkleLogError();
    this.ids = ids;
    this.checkpoints = checkpoints;
  }

  /** The layout that holds the log: the first release's until migrated. */
  private get source(): TileSource {
    if (this.legacy?.size() === 0) this.legacy = null; // another process migrated it
    return this.legacy ?? this.own!;
  }

  /** Rewrites a first-release log as tiles (in the follower's process, before it appends). */
  async migrate(): Promise<void> {
    if (!this.legacy || !this.own) return;
    await this.legacy.migrateTo(this.env, this.own);
    this.legacy = null;
  }

  /** Leaves in the log (leaf index = seq - 1). */
  size(): number {
    return this.source.size();
  }

  /** The stored hashes of level `level`, nodes from index * TILE_WIDTH, concatenated (a copy). */
  tile(level: number, index: number): Buffer | undefined {
    return this.source.tile(level, index);
  }

  leaf(seq: number): LeafEntry | undefined {
    for (const leaf of this.leafRange(seq, seq)) return leaf;
    return undefined;
  }

  /** Leaves with seq in [fromSeq, toSeq], ascending, read a tile at a time. */
  *leafRange(fromSeq: number, toSeq: number): Generator<LeafEntry> {
    for (let index = Math.floor((fromSeq - 1) / TILE_WIDTH); index * TILE_WIDTH < toSeq; index++) {
      const hashes = this.source.tile(0, index);
      const records = unpackRecords(this.source.recordsTile(index) ?? Buffer.alloc(0));
      for (let k = 0; k < records.length && (k + 1) * HASH_BYTES <= (hashes?.length ?? 0); k++) {
        const seq = index * TILE_WIDTH + k + 1;
        if (seq >= fromSeq && seq <= toSeq) yield { seq, hash: Buffer.from(slot(hashes!, k)), ...records[k]! };
      }
    }
  }

  /** The records of leaves [from, to) (leaf indexes, seq - 1) as packed bytes, a tile at a time: what leafRecordsDigest hashes. */
  *packedLeafRecords(from: number, to: number): Generator<Buffer> {
    for (let index = Math.floor(from / TILE_WIDTH); index * TILE_WIDTH < to; index++) {
      const first = index * TILE_WIDTH;
      const packed = this.source.recordsTile(index) ?? Buffer.alloc(0);
      yield packedSlice(packed, Math.max(0, from - first), Math.min(TILE_WIDTH, to - first));
    }
  }

  /** The seq of the record with this id, if the log has it. */
  seqOf(id: string): number | undefined {
    return this.ids.get(id);
  }

  /** The stored hash of the perfect subtree at (level, index); undefined when the log does not have it. */
  node(level: number, index: number): Buffer | undefined {
    const tile = this.source.tile(level, Math.floor(index / TILE_WIDTH));
    const k = index % TILE_WIDTH;
    return tile && tile.length >= (k + 1) * HASH_BYTES ? Buffer.from(slot(tile, k)) : undefined;
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

  /** The right edge of the tree of `size` leaves per level, to continue appending level by level. */
  edgeAt(size: number): TreeEdge {
    const carries: Array<Buffer | undefined> = [];
    for (let level = 0; 2 ** level <= size; level++) {
      const count = Math.floor(size / 2 ** level);
      carries.push(count % 2 === 1 ? this.subtree((count - 1) * 2 ** level, count * 2 ** level) : undefined);
    }
    return new TreeEdge(size, carries);
  }

  /**
   * Writes appended leaves in one transaction: `rows` as TreeEdge.append returned them (level 0 the leaf hashes), the
   * leaves' records, their id index entries and the new size. Everything but the tiles is prepared before it: the store's
   * own writes wait while the transaction's callback runs. The id entries are puts queued just before it, which lmdb-js
   * encodes here and commits in the same transaction (an id whose tiles did not commit is written again with them).
   */
  append(rows: Buffer[], leaves: LeafRecords): Promise<boolean> {
    const previous = leaves.firstSeq - 1;
    const own = this.own!; // a writable environment always has the tile databases
    const records = packedRecordTiles(previous, leaves);
    const indexed = leaves.ids.map((id, i) => this.ids.put(id, leaves.firstSeq + i));
    const appended = this.env.transaction(() => {
      rows.forEach((row, level) => {
        for (const [index, offset, hashes] of tileParts(Math.floor(previous / 2 ** level), row)) own.extendTile(level, index, offset, hashes);
      });
      for (const [index, offset, packed] of records) own.extendRecords(index, offset, packed);
      own.setSize(previous + leaves.ids.length);
      return true;
    });
    return Promise.all([appended, ...new Set(indexed)]).then(() => true);
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
