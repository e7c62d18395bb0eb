import { holdsBodyRef, type RecordPosition } from '../store/bodies.js';
import type { CommitLog } from '../store/store.js';
import { HASH_BYTES, leafHashInto, slot } from './merkle.js';
import { TILE_WIDTH } from './tiles.js';
import type { TreeStore } from './tree-store.js';

/** A leaf whose stored record does not hash to it. */
export interface Mismatch {
  seq: number;
  storedId: string;
  storedHash: Buffer;
}

/** A stored record's place: its records-database key [createdAtMs, id] and its seq. */
export type RecordAt = [createdAtMs: number, id: string, seq: number];

/** What checking the leaves [from, to) against the stored records found (indexes; seq = index + 1). */
export interface LeafCheck {
  /** The stored leaf hashes: the first `have` of them (the log lacks the rest), zeros after. */
  leaves: Buffer;
  have: number;
  mismatches: Mismatch[];
  /** Runs of logged seqs with no stored record: [first, last]. */
  missing: Array<[number, number]>;
  /** The smallest [createdAtMs, id] among the stored records visited (retention removes records below it). */
  oldestKept: RecordAt | null;
  /** The stored records visited that may hold a body reference: their references are checked after the walk. */
  bodyHolders: RecordPosition[];
}

/** Does the record (createdAtMs, id) sort before `than` (or is there nothing to compare with)? */
export function sortsBefore(createdAtMs: number, id: string, than: RecordAt | null): boolean {
  return than === null || createdAtMs < than[0] || (createdAtMs === than[0] && id < than[1]);
}

/** Adds the seqs [first, last] to runs kept in seq order, joining the last run when they follow it. */
export function addRun(runs: Array<[number, number]>, first: number, last: number): void {
  const previous = runs[runs.length - 1];
  if (previous && previous[1] === first - 1) previous[1] = last;
  else runs.push([first, last]);
}

/**
 * Hashes every stored record among the leaves [from, to) into one buffer and compares it with the stored leaves at once;
 * records are named only when it differs; notes the records that may hold a body reference. Read-only; runs on
 * verify's threads as well as in its own.
 */
export function checkLeaves(log: CommitLog, stored: StoredTiles, from: number, to: number): LeafCheck {
  const check: LeafCheck = { leaves: Buffer.alloc((to - from) * HASH_BYTES), have: 0, mismatches: [], missing: [], oldestKept: null, bodyHolders: [] };
  const have = (check.have = stored.copy(0, from, to, check.leaves));
  const computed = Buffer.from(check.leaves); // a record the store lacks keeps its logged hash here
  let next = from + 1;
  log.visitLog(from + 1, to, (seq, createdAtMs, id, bytes) => {
    if (sortsBefore(createdAtMs, id, check.oldestKept)) check.oldestKept = [createdAtMs, id, seq];
    if (holdsBodyRef(bytes)) check.bodyHolders.push([createdAtMs, id]);
    if (next < seq) addRun(check.missing, next, seq - 1);
    next = seq + 1;
    if (seq <= from + have) leafHashInto(bytes, computed, (seq - 1 - from) * HASH_BYTES);
  });
  if (next <= from + have) addRun(check.missing, next, from + have);
  if (!computed.equals(check.leaves)) addMismatches(log, from, have, computed, check);
  return check;
}

/** Each stored record among the leaves [from, from + have) whose hash differs from its leaf, with its stored id. */
function addMismatches(log: CommitLog, from: number, have: number, computed: Buffer, check: LeafCheck): void {
  for (let k = 0; k < have; k++) {
    if (slot(computed, k).equals(slot(check.leaves, k))) continue;
    log.visitLog(from + k + 1, from + k + 1, (seq, _createdAtMs, id) => check.mismatches.push({ seq, storedId: id, storedHash: Buffer.from(slot(computed, k)) }));
  }
}

/** The stored tiles, the current one of each level kept while a walk moves through it. */
export class StoredTiles {
  private readonly current = new Map<number, { index: number; hashes: Buffer | undefined }>();

  constructor(private readonly tree: TreeStore) {}

  /** Copies the stored nodes [from, to) of `level` into `out` up to the first one missing; returns how many. */
  copy(level: number, from: number, to: number, out: Buffer): number {
    let done = 0;
    while (from + done < to) {
      const index = Math.floor((from + done) / TILE_WIDTH);
      let tile = this.current.get(level);
      if (tile?.index !== index) {
        tile = { index, hashes: this.tree.tile(level, index) };
        this.current.set(level, tile);
      }
      const start = ((from + done) % TILE_WIDTH) * HASH_BYTES;
      const end = Math.min(tile.hashes?.length ?? 0, start + (to - from - done) * HASH_BYTES);
      if (end <= start) return done;
      tile.hashes!.copy(out, done * HASH_BYTES, start, end);
      done += (end - start) / HASH_BYTES;
      if (end % (TILE_WIDTH * HASH_BYTES) !== 0 && from + done < to) return done;
    }
    return done;
  }
}
