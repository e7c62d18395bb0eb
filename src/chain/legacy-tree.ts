import type { Database, RootDatabase } from 'lmdb';
import { HASH_BYTES } from './merkle.js';
import { openBinary, packRecords, TILE_WIDTH, type TileDbs, type TileSource } from './tiles.js';

/** The first layout's node keys: level * 2^44 + index. */
const LEGACY_STRIDE = 2 ** 44;
/** Tiles rewritten per transaction while migrating. */
const MIGRATE_TILES = 64;

/**
 * The Merkle log as the first release stored it: `chain_leaves` (seq -> hash, createdAtMs, id) and `chain_nodes`
 * (one entry per interior node). Read as tiles, so a store that release wrote verifies as it is; the process that
 * runs the follower migrates it to tiles (idempotent: these databases stay authoritative until emptied at the end).
 */
export class LegacyTree implements TileSource {
  private constructor(private readonly leaves: Database<Buffer, number>, private readonly nodes: Database<Buffer, number> | undefined) {}

  /** The legacy databases when they hold a log, else null. */
  static open(env: RootDatabase): LegacyTree | null {
    const leaves = openBinary(env, 'chain_leaves', false);
    if (!leaves) return null;
    const tree = new LegacyTree(leaves, openBinary(env, 'chain_nodes', false));
    return tree.size() > 0 ? tree : null;
  }

  size(): number {
    for (const seq of this.leaves.getKeys({ reverse: true, limit: 1 })) return seq as number;
    return 0;
  }

  /** Up to the first hole: a removed leaf shortens its tile, and verify names the leaves from there as missing. */
  tile(level: number, index: number): Buffer | undefined {
    const first = index * TILE_WIDTH;
    const hashes: Buffer[] = [];
    if (level === 0) {
      for (const { key, value } of this.leaves.getRange({ start: first + 1, end: first + TILE_WIDTH + 1 })) {
        if (key !== first + 1 + hashes.length) break;
        hashes.push(value.subarray(0, HASH_BYTES));
      }
    } else if (this.nodes) {
      const base = level * LEGACY_STRIDE + first;
      for (const { key, value } of this.nodes.getRange({ start: base, end: base + TILE_WIDTH })) {
        if (key !== base + hashes.length) break;
        hashes.push(value);
      }
    }
    return hashes.length > 0 ? Buffer.concat(hashes) : undefined;
  }

  recordsTile(index: number): Buffer | undefined {
    const [createdAtMs, ids]: [number[], string[]] = [[], []];
    const first = index * TILE_WIDTH + 1;
    for (const { key, value } of this.leaves.getRange({ start: first, end: first + TILE_WIDTH })) {
      if (key !== first + ids.length) break;
      createdAtMs.push(value.readDoubleBE(HASH_BYTES));
      ids.push(value.toString('utf8', HASH_BYTES + 8));
    }
    return ids.length > 0 ? packRecords(createdAtMs, ids) : undefined;
  }

  /** Rewrites the log as tiles into `target`, then empties the legacy databases. */
  async migrateTo(env: RootDatabase, target: TileDbs): Promise<void> {
    const size = this.size();
    for (let level = 0; Math.floor(size / 2 ** level) > 0; level++) {
      const tiles = Math.ceil(Math.floor(size / 2 ** level) / TILE_WIDTH);
      for (let from = 0; from < tiles; from += MIGRATE_TILES) {
        await env.transaction(() => {
          for (let index = from; index < Math.min(tiles, from + MIGRATE_TILES); index++) {
            const hashes = this.tile(level, index);
            if (hashes) target.extendTile(level, index, 0, hashes);
            const records = level === 0 ? this.recordsTile(index) : undefined;
            if (records) target.records.putSync(index, records);
          }
        });
      }
    }
    await env.transaction(() => target.setSize(size));
    await this.leaves.clearAsync(); // first: with no leaves, this layout stops being the one read
    await this.nodes?.clearAsync();
  }
}
