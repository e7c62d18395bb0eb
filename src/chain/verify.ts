import type { CommitLog } from '../store/store.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { consistencyProof, HASH_BYTES, leafHashInto, slot, TreeEdge, verifyConsistency } from './merkle.js';
import type { NoteVerifier } from './note.js';
import { TILE_WIDTH } from './tiles.js';
import type { TreeStore } from './tree-store.js';

export interface VerifyOptions {
  verifier: NoteVerifier;
  /** A signed checkpoint kept off the host (--checkpoint): the store must still contain its tree. */
  saved?: string;
  /** One line per problem. */
  problem(line: string): void;
  /** Leaves checked so far, of total. */
  progress?(done: number, total: number): void;
}

export interface VerifyReport {
  problems: number;
  leaves: number;
  /** Logged records gone the way retention removes them (the oldest first). */
  pruned: number;
  /** Committed records the log has not reached yet (the server logs them within its poll interval). */
  unlogged: number;
  checkpoints: number;
}

const PROGRESS_EVERY = 1 << 16;
/** Leaves per step of the walk (16 tiles): one commit-log read and one pass up the tree each. */
const CHUNK = 16 * TILE_WIDTH;

/** A leaf whose stored record does not hash to it. */
interface Mismatch {
  seq: number;
  storedId: string;
  storedHash: Buffer;
}

/**
 * Recomputes every leaf from the record bytes the commit log returns and the tree above the leaves, and checks every
 * checkpoint: its signature, its root against the tree, and its consistency with the next. Read-only.
 */
export function verifyChain(log: CommitLog, tree: TreeStore, options: VerifyOptions): VerifyReport {
  const report: VerifyReport = { problems: 0, leaves: tree.size(), pruned: 0, unlogged: 0, checkpoints: 0 };
  const problem = (line: string): void => {
    report.problems++;
    options.problem(line);
  };
  const checkpoints = signedCheckpoints(tree, options.verifier, report.leaves, problem);
  report.checkpoints = checkpoints.length;
  const saved = savedCheckpoint(options, report.leaves, problem);
  const expectedRoots = new Map(checkpoints.map((c) => [c.size, { name: `checkpoint at tree size ${c.size}`, root: c.root }]));
  if (saved && saved.size <= report.leaves) expectedRoots.set(saved.size, { name: `--checkpoint at tree size ${saved.size}`, root: saved.root });

  const walk = walkLeaves(log, tree, report, problem, expectedRoots, options.progress);
  reportMismatches(tree, walk.mismatches, problem);
  reportMissing(tree, walk.missing, walk.oldestKept, report, problem);
  checkConsistency(tree, checkpoints, problem);
  return report;
}

function signedCheckpoints(tree: TreeStore, verifier: NoteVerifier, leaves: number, problem: (line: string) => void): Checkpoint[] {
  const valid: Checkpoint[] = [];
  for (const { size, note } of tree.checkpointsAfter(0)) {
    const opened = openCheckpoint(note, verifier);
    if (!opened.ok) problem(`checkpoint at tree size ${size}: ${opened.problem}`);
    else if (opened.checkpoint.size !== size) problem(`checkpoint at tree size ${size}: it signs tree size ${opened.checkpoint.size}`);
    else if (size > leaves) problem(`checkpoint at tree size ${size}: the log has only ${leaves} leaves (leaves were removed)`);
    else valid.push(opened.checkpoint);
  }
  return valid;
}

function savedCheckpoint(options: VerifyOptions, leaves: number, problem: (line: string) => void): Checkpoint | null {
  if (options.saved === undefined) return null;
  const opened = openCheckpoint(options.saved, options.verifier);
  if (!opened.ok) {
    problem(`--checkpoint: ${opened.problem}`);
    return null;
  }
  const { size } = opened.checkpoint;
  if (size > leaves) problem(`store rolled back: --checkpoint has tree size ${size}, the store's log only ${leaves} leaves`);
  return opened.checkpoint;
}

interface Walk {
  mismatches: Mismatch[];
  /** Runs of logged seqs with no stored record: [first, last]. */
  missing: Array<[number, number]>;
  /** The smallest [createdAtMs, id] among stored records (retention removes records below it). */
  oldestKept: [number, string] | null;
}

/**
 * One pass in seq order, CHUNK leaves (or up to the next checkpoint) at a time: each stored record hashed straight from
 * the bytes the commit log visits and compared with its stored leaf, then the tree above the stored leaves recomputed
 * level by level and compared with the stored tiles, and each checkpoint's root with the tree of its size.
 */
function walkLeaves(
  log: CommitLog, tree: TreeStore, report: VerifyReport, problem: (line: string) => void,
  expectedRoots: Map<number, { name: string; root: Buffer }>, progress?: (done: number, total: number) => void,
): Walk {
  const walk: Walk = { mismatches: [], missing: [], oldestKept: null };
  const stops = [...expectedRoots.keys()].sort((a, b) => a - b);
  const edge = new TreeEdge();
  const stored = new StoredTiles(tree);
  let stop = 0;
  while (edge.size < report.leaves) {
    const from = edge.size;
    while (stop < stops.length && stops[stop]! <= from) stop++;
    const to = Math.min(report.leaves, (Math.floor(from / CHUNK) + 1) * CHUNK, stops[stop] ?? Infinity);
    const leaves = checkLeaves(log, stored, from, to, walk, problem);
    edge.append(leaves).forEach((row, level) => {
      if (level > 0) compareRow(stored, level, Math.floor(from / 2 ** level), row, problem);
    });
    const expectedRoot = expectedRoots.get(edge.size);
    if (expectedRoot && !edge.root().equals(expectedRoot.root)) problem(`${expectedRoot.name}: root hash differs from the tree (the log was rewritten)`);
    if (Math.floor(to / PROGRESS_EVERY) > Math.floor(from / PROGRESS_EVERY)) progress?.(to, report.leaves);
  }
  log.visitLog(report.leaves + 1, log.lastSeq(), () => report.unlogged++);
  progress?.(report.leaves, report.leaves);
  return walk;
}

/**
 * Leaves [from, to) (indexes; seq = index + 1): the stored hashes, with zeros for leaves the log lacks (named), after
 * hashing every stored record among them against its leaf: all into one buffer compared at once, records named only
 * when it differs.
 */
function checkLeaves(log: CommitLog, stored: StoredTiles, from: number, to: number, walk: Walk, problem: (line: string) => void): Buffer {
  const leaves = Buffer.alloc((to - from) * HASH_BYTES);
  const have = stored.copy(0, from, to, leaves);
  for (let index = from + have; index < to; index++) problem(`seq ${index + 1}: the log has no leaf for it (removed from the log)`);
  const computed = Buffer.from(leaves); // a record the store lacks keeps its logged hash here
  let next = from + 1;
  log.visitLog(from + 1, to, (seq, createdAtMs, id, bytes) => {
    if (!walk.oldestKept || createdAtMs < walk.oldestKept[0] || (createdAtMs === walk.oldestKept[0] && id < walk.oldestKept[1])) walk.oldestKept = [createdAtMs, id];
    for (; next < seq; next++) addToRuns(walk.missing, next);
    next = seq + 1;
    if (seq <= from + have) leafHashInto(bytes, computed, (seq - 1 - from) * HASH_BYTES);
  });
  for (; next <= from + have; next++) addToRuns(walk.missing, next);
  if (!computed.equals(leaves)) addMismatches(log, from, have, computed, leaves, walk.mismatches);
  return leaves;
}

/** Each stored record among the leaves [from, from + have) whose hash differs from its leaf, with its stored id. */
function addMismatches(log: CommitLog, from: number, have: number, computed: Buffer, leaves: Buffer, mismatches: Mismatch[]): void {
  for (let k = 0; k < have; k++) {
    if (slot(computed, k).equals(slot(leaves, k))) continue;
    log.visitLog(from + k + 1, from + k + 1, (seq, _createdAtMs, id) => mismatches.push({ seq, storedId: id, storedHash: Buffer.from(slot(computed, k)) }));
  }
}

/** Names every node of `row` (level, from index `first`) that differs from the stored one. */
function compareRow(stored: StoredTiles, level: number, first: number, row: Buffer, problem: (line: string) => void): void {
  const count = row.length / HASH_BYTES;
  const kept = Buffer.alloc(row.length);
  const have = stored.copy(level, first, first + count, kept);
  if (have === count && kept.equals(row)) return;
  for (let k = 0; k < count; k++) {
    if (k >= have || !slot(kept, k).equals(slot(row, k))) problem(`tree node at level ${level}, index ${first + k}: differs from the leaves below it`);
  }
}

function addToRuns(runs: Array<[number, number]>, seq: number): void {
  const last = runs[runs.length - 1];
  if (last && last[1] === seq - 1) last[1] = seq;
  else runs.push([seq, seq]);
}

/** The stored tiles, the current one of each level kept while the walk moves through it. */
class StoredTiles {
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

/** Names each mismatch: a record from another seq (reordered), another record (inserted), or the same one changed. */
function reportMismatches(tree: TreeStore, mismatches: Mismatch[], problem: (line: string) => void): void {
  const leaves = mismatches.map((m) => tree.leaf(m.seq)!);
  const loggedAt = new Map(leaves.map((leaf) => [leaf.hash.toString('base64'), leaf]));
  for (const [i, { storedId, storedHash }] of mismatches.entries()) {
    const leaf = leaves[i]!;
    const moved = loggedAt.get(storedHash.toString('base64'));
    const where = `seq ${leaf.seq} id ${leaf.id}`;
    if (moved && moved.seq !== leaf.seq) problem(`${where}: reordered: it holds the record logged at seq ${moved.seq} (id ${moved.id})`);
    else if (storedId !== leaf.id) problem(`${where}: inserted: the store has record ${storedId} in its place`);
    else problem(`${where}: changed: the stored record does not hash to its logged leaf`);
  }
}

/** Missing records that sort before the oldest kept one are what retention removes; any other is reported. */
function reportMissing(tree: TreeStore, runs: Array<[number, number]>, oldestKept: [number, string] | null, report: VerifyReport, problem: (line: string) => void): void {
  for (const [first, last] of runs) {
    for (const leaf of tree.leafRange(first, last)) {
      const prunable = oldestKept === null || leaf.createdAtMs < oldestKept[0] || (leaf.createdAtMs === oldestKept[0] && leaf.id < oldestKept[1]);
      if (prunable) report.pruned++;
      else problem(`seq ${leaf.seq} id ${leaf.id}: missing: logged, but gone from the store (not the way retention removes records)`);
    }
  }
}

/** Each valid checkpoint against the next, with a consistency proof from the stored tree (RFC 9162 2.1.4). */
function checkConsistency(tree: TreeStore, checkpoints: Checkpoint[], problem: (line: string) => void): void {
  for (let i = 1; i < checkpoints.length; i++) {
    const [a, b] = [checkpoints[i - 1]!, checkpoints[i]!];
    let proof: Buffer[];
    try {
      proof = consistencyProof(a.size, b.size, tree.subtree);
    } catch (err) {
      problem(`checkpoints at tree sizes ${a.size} and ${b.size}: ${(err as Error).message}`);
      continue;
    }
    if (!verifyConsistency(a.size, b.size, proof, a.root, b.root)) {
      problem(`checkpoints at tree sizes ${a.size} and ${b.size}: not consistent (the second does not extend the first)`);
    }
  }
}
