import type { Database, RootDatabase } from 'lmdb';
import { HASH_BYTES } from './merkle.js';

/**
 * The tree's hashes as C2SP tlog-tiles-style tiles: the nodes of one level in runs of TILE_WIDTH, one LMDB value each
 * (the concatenated 32-byte hashes; the newest tile of a level is partial and grows). Unlike tlog-tiles, every level
 * is stored, so any node is one read and a slice. Beside them, the leaves' records (created at, id) in the same runs.
 */
export const TILE_WIDTH = 256;

/** Tile keys: level * LEVEL_STRIDE + tile index, one ordered number. */
const LEVEL_STRIDE = 2 ** 40;
/** The key of the tree size, beside the tiles (written with them, so a truncated tile shows as missing leaves). */
const SIZE_KEY = -1;

/** One leaf's record in a records tile: float64 createdAtMs, uint16 id length, id (UTF-8). */
const RECORD_FIXED = 10;

/** What every layout of the tree's hashes answers. */
export interface TileSource {
  /** Leaves in the log. */
  size(): number;
  /** The stored hashes of level `level`, nodes [index * TILE_WIDTH, ...), concatenated; undefined when none. */
  tile(level: number, index: number): Buffer | undefined;
  /** The records of the leaves of tile `index`, packed (recordAt reads one). */
  recordsTile(index: number): Buffer | undefined;
}

/** The leaves' records of a tile, packed in leaf order. */
export function packRecords(createdAtMs: readonly number[], ids: readonly string[]): Buffer {
  let size = 0;
  for (const id of ids) size += RECORD_FIXED + Buffer.byteLength(id);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    out.writeDoubleLE(createdAtMs[i]!, at);
    const length = out.write(ids[i]!, at + RECORD_FIXED, 'utf8');
    out.writeUInt16LE(length, at + 8);
    at += RECORD_FIXED + length;
  }
  return out;
}

/** Every record of a packed records tile, in leaf order. */
export function unpackRecords(packed: Buffer): Array<{ createdAtMs: number; id: string }> {
  const out: Array<{ createdAtMs: number; id: string }> = [];
  for (let at = 0; at + RECORD_FIXED <= packed.length;) {
    const length = packed.readUInt16LE(at + 8);
    out.push({ createdAtMs: packed.readDoubleLE(at), id: packed.toString('utf8', at + RECORD_FIXED, at + RECORD_FIXED + length) });
    at += RECORD_FIXED + length;
  }
  return out;
}

/** The records [from, to) of a packed records tile, as packed bytes (what it has of them when it holds fewer). */
export function packedSlice(packed: Buffer, from: number, to: number): Buffer {
  return packed.subarray(packedLength(packed, from) ?? packed.length, packedLength(packed, to) ?? packed.length);
}

/** Bytes of the first `count` records of a packed records tile; undefined when it holds fewer. */
function packedLength(packed: Buffer, count: number): number | undefined {
  let at = 0;
  for (let k = 0; k < count; k++) {
    if (at + RECORD_FIXED > packed.length) return undefined;
    at += RECORD_FIXED + packed.readUInt16LE(at + 8);
  }
  return at <= packed.length ? at : undefined;
}

/** A level's new nodes, split into the tiles they extend: [tile index, offset of the first in it, hashes]. */
export function* tileParts(firstIndex: number, row: Buffer): Generator<[number, number, Buffer]> {
  const count = row.length / HASH_BYTES;
  for (let done = 0; done < count;) {
    const index = firstIndex + done;
    const take = Math.min(count - done, TILE_WIDTH - (index % TILE_WIDTH));
    yield [Math.floor(index / TILE_WIDTH), index % TILE_WIDTH, row.subarray(done * HASH_BYTES, (done + take) * HASH_BYTES)];
    done += take;
  }
}

/** The tile layout's databases: `chain_tiles` (hashes and the size) and `chain_leaf_records`. */
export class TileDbs implements TileSource {
  readonly tiles: Database<Buffer, number>;
  readonly records: Database<Buffer, number>;

  constructor(tiles: Database<Buffer, number>, records: Database<Buffer, number>) {
    this.tiles = tiles;
    this.records = records;
  }

  size(): number {
    const stored = this.tiles.getBinary(SIZE_KEY);
    return stored ? stored.readUIntBE(0, 6) : 0;
  }

  tile(level: number, index: number): Buffer | undefined {
    return this.tiles.getBinary(level * LEVEL_STRIDE + index);
  }

  recordsTile(index: number): Buffer | undefined {
    return this.records.getBinary(index);
  }

  /** Inside a write transaction: appends `hashes` to a tile whose first `offset` nodes are stored. */
  extendTile(level: number, index: number, offset: number, hashes: Buffer): void {
    const key = level * LEVEL_STRIDE + index;
    const stored = offset === 0 ? undefined : this.tiles.getBinary(key)?.subarray(0, offset * HASH_BYTES);
    if (offset > 0 && stored?.length !== offset * HASH_BYTES) throw new Error(`the Merkle log's tile at level ${level}, index ${index} is shorter than ${offset} nodes`);
    this.tiles.putSync(key, stored ? Buffer.concat([stored, hashes]) : Buffer.from(hashes));
  }

  /**
   * Inside a write transaction: appends packed records to a records tile whose first `offset` records are logged. What
   * the tile holds past them is cut: an append whose thread died after this put, before the size's, left it there.
   */
  extendRecords(index: number, offset: number, packed: Buffer): void {
    const stored = offset === 0 ? undefined : this.records.getBinary(index);
    const length = stored && packedLength(stored, offset);
    if (offset > 0 && length === undefined) throw new Error(`the Merkle log's records tile ${index} holds fewer than ${offset} records`);
    this.records.putSync(index, stored ? Buffer.concat([stored.subarray(0, length), packed]) : packed);
  }

  setSize(size: number): void {
    const value = Buffer.alloc(6);
    value.writeUIntBE(size, 0, 6);
    this.tiles.putSync(SIZE_KEY, value);
  }
}

/** Opens a database of the environment; undefined when it does not exist (never creates it when `create` is false). */
export function openBinary(env: RootDatabase, name: string, create: boolean): Database<Buffer, number> | undefined {
  try {
    const options = { name, encoding: 'binary' as const, create }; // `create` is lmdb-js's, missing from its types
    return env.openDB<Buffer, number>(options) as Database<Buffer, number> | undefined;
  } catch {
    return undefined;
  }
}
