import { holdsBodyRef, type RecordPosition } from '../store/bodies.js';
import type { CommitLog } from '../store/store.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { LeafRecordsDigest } from './leaf-records-digest.js';
import { consistencyProof, HASH_BYTES, slot, TreeEdge, verifyConsistency } from './merkle.js';
import type { NoteVerifier } from './note.js';
import { TILE_WIDTH } from './tiles.js';
import type { TreeStore } from './tree-store.js';
import { addRun, sortsBefore, StoredTiles, type LeafCheck, type Mismatch, type RecordAt } from './verify-leaves.js';
import { localChecker, ThreadChecker, type LeafChecker, type VerifyThreadData } from './verify-threads.js';

export interface VerifyOptions {
  verifier: NoteVerifier;
  /** A signed checkpoint kept off the host (--checkpoint): the store must still contain its tree. */
  saved?: string;
  /** One line per problem. */
  problem(line: string): void;
  /** Leaves checked so far, of total. */
  progress?(done: number, total: number): void;
  /** Hash the stored records on this many threads, each opening the store read-only (default: verify's own thread). */
  threads?: VerifyThreadData & { count: number };
}

export interface VerifyReport {
  problems: number;
  leaves: number;
  /** Logged records gone the way retention removes them (the oldest first). */
  pruned: number;
  /** Committed records the log has not reached yet (the server logs them within its poll interval). */
  unlogged: number;
  checkpoints: number;
  /** The records, logged or not yet, that may hold a body reference (for the bodies' check, check-bodies.ts). */
  bodyHolders: RecordPosition[];
}

const PROGRESS_EVERY = 1 << 16;
/** Leaves per step of the walk (16 tiles): one commit-log read and one pass up the tree each. */
const CHUNK = 16 * TILE_WIDTH;
/** Steps a thread is given ahead of the walk, so that none waits for the next. */
const AHEAD_PER_THREAD = 2;

/**
 * Recomputes every leaf from the record bytes the commit log returns and the tree above the leaves, and checks every
 * checkpoint: its signature, its root against the tree, and its consistency with the next. Read-only.
 */
export async function verifyChain(log: CommitLog, tree: TreeStore, options: VerifyOptions): Promise<VerifyReport> {
  const report: VerifyReport = { problems: 0, leaves: tree.size(), pruned: 0, unlogged: 0, checkpoints: 0, bodyHolders: [] };
  const problem = (line: string): void => {
    report.problems++;
    options.problem(line);
  };
  const checkpoints = signedCheckpoints(tree, options.verifier, report.leaves, problem);
  report.checkpoints = checkpoints.length;
  const saved = savedCheckpoint(options, report.leaves, problem);
  const expectedRoots = new Map(checkpoints.map((c) => [c.size, { name: `checkpoint at tree size ${c.size}`, root: c.root }]));
  if (saved && saved.size <= report.leaves) expectedRoots.set(saved.size, { name: `--checkpoint at tree size ${saved.size}`, root: saved.root });

  const checker = options.threads ? new ThreadChecker(options.threads, options.threads.count) : localChecker(log, tree);
  let walk: Walk;
  try {
    walk = await walkLeaves(checker, tree, report, problem, expectedRoots, options);
  } finally {
    await checker.close();
  }
  if (options.threads && walk.oldestKept && !stored(log, walk.oldestKept[2])) walk.oldestKept = oldestStored(log, report.leaves);
  report.bodyHolders = walk.bodyHolders;
  log.visitLog(report.leaves + 1, log.lastSeq(), (_seq, createdAtMs, id, bytes) => {
    report.unlogged++;
    if (holdsBodyRef(bytes)) report.bodyHolders.push([createdAtMs, id]);
  });
  reportMismatches(tree, walk.mismatches, problem);
  const signedLeaves = checkLeafRecords(tree, saved ? [...checkpoints, saved] : checkpoints, report.leaves, problem);
  reportMissing(tree, walk.missing, { oldestKept: walk.oldestKept, signedLeaves }, report, problem);
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
  oldestKept: RecordAt | null;
  /** The stored records that may hold a body reference, from each step's check. */
  bodyHolders: RecordPosition[];
}

/**
 * One pass in seq order, CHUNK leaves (or up to the next checkpoint) at a time: each step's stored records checked
 * against its stored leaves (checkLeaves, possibly on other threads, a few steps ahead), then the tree above the stored
 * leaves recomputed level by level and compared with the stored tiles, and each checkpoint's root with the tree of its
 * size. Problems are named in seq order whichever thread found them.
 */
async function walkLeaves(
  checker: LeafChecker, tree: TreeStore, report: VerifyReport, problem: (line: string) => void,
  expectedRoots: Map<number, { name: string; root: Buffer }>, options: VerifyOptions,
): Promise<Walk> {
  const walk: Walk = { mismatches: [], missing: [], oldestKept: null, bodyHolders: [] };
  const steps = stepsOf(report.leaves, [...expectedRoots.keys()].sort((a, b) => a - b));
  const ahead = AHEAD_PER_THREAD * (options.threads?.count ?? 1);
  const checks: Array<Promise<LeafCheck> | undefined> = [];
  const edge = new TreeEdge();
  const stored = new StoredTiles(tree);
  for (let step = 0; step < steps.length; step++) {
    for (let next = checks.length; next < Math.min(steps.length, step + ahead); next++) checks.push(quiet(checker.check(...steps[next]!)));
    const [from, to] = steps[step]!;
    const check = await checks[step]!;
    checks[step] = undefined;
    addCheck(walk, check, from, to, problem);
    edge.append(check.leaves).forEach((row, level) => {
      if (level > 0) compareRow(stored, level, Math.floor(from / 2 ** level), row, problem);
    });
    const expectedRoot = expectedRoots.get(edge.size);
    if (expectedRoot && !edge.root().equals(expectedRoot.root)) problem(`${expectedRoot.name}: root hash differs from the tree (the log was rewritten)`);
    if (Math.floor(to / PROGRESS_EVERY) > Math.floor(from / PROGRESS_EVERY)) options.progress?.(to, report.leaves);
  }
  options.progress?.(report.leaves, report.leaves);
  return walk;
}

/** The walk's steps [from, to): CHUNK-aligned, and ending at each tree size in `stops` (ascending). */
function stepsOf(leaves: number, stops: number[]): Array<[number, number]> {
  const steps: Array<[number, number]> = [];
  let stop = 0;
  for (let from = 0; from < leaves;) {
    while (stop < stops.length && stops[stop]! <= from) stop++;
    const to = Math.min(leaves, (Math.floor(from / CHUNK) + 1) * CHUNK, stops[stop] ?? Infinity);
    steps.push([from, to]);
    from = to;
  }
  return steps;
}

/** A check started ahead of the walk: its failure is seen when the walk awaits it, never as an unhandled rejection. */
function quiet(check: Promise<LeafCheck>): Promise<LeafCheck> {
  check.catch(() => undefined);
  return check;
}

/** One step's check into the walk: leaves the log lacks named now, the rest gathered for the end. */
function addCheck(walk: Walk, check: LeafCheck, from: number, to: number, problem: (line: string) => void): void {
  for (let index = from + check.have; index < to; index++) problem(`seq ${index + 1}: the log has no leaf for it (removed from the log)`);
  walk.mismatches.push(...check.mismatches);
  for (const holder of check.bodyHolders) walk.bodyHolders.push(holder);
  for (const [first, last] of check.missing) addRun(walk.missing, first, last);
  const oldest = check.oldestKept;
  if (oldest && sortsBefore(oldest[0], oldest[1], walk.oldestKept)) walk.oldestKept = oldest;
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

function stored(log: CommitLog, seq: number): boolean {
  let found = false;
  log.visitLog(seq, seq, () => (found = true));
  return found;
}

/**
 * The oldest record the store keeps now, read in one pass. Threads read the store at different moments: when retention
 * removed the oldest record the walk saw, it may also have removed records after their step was read, which would be
 * named missing. Retention removes a prefix in key order, so what sorts before the oldest record kept now is what it
 * removed, whenever it ran.
 */
function oldestStored(log: CommitLog, leaves: number): RecordAt | null {
  let oldest: RecordAt | null = null;
  log.visitLog(1, leaves, (seq, createdAtMs, id) => {
    if (sortsBefore(createdAtMs, id, oldest)) oldest = [createdAtMs, id, seq];
  });
  return oldest;
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

/**
 * Checks the leaves' records against each checkpoint's signed digest of them, streaming them once in leaf order; returns
 * how many leaves a checkpoint whose digest matched covers (0 when none signs one: checkpoints from before the digest).
 */
function checkLeafRecords(tree: TreeStore, checkpoints: Checkpoint[], leaves: number, problem: (line: string) => void): number {
  const signing = checkpoints.filter((c) => c.leafRecords && c.size <= leaves).sort((a, b) => a.size - b.size);
  const digest = new LeafRecordsDigest();
  let hashed = 0;
  let signed = 0;
  for (const checkpoint of signing) {
    for (const packed of tree.packedLeafRecords(hashed, checkpoint.size)) digest.add(packed);
    hashed = checkpoint.size;
    if (digest.value().equals(checkpoint.leafRecords!)) signed = checkpoint.size;
    else problem(`checkpoint at tree size ${checkpoint.size}: the leaves' records differ from the ones it signs (a leaf's time or id was changed)`);
  }
  return signed;
}

/**
 * Missing records are what retention removed when they sort before the oldest kept one, by a time a checkpoint signed
 * (retention never removes the newest, which no checkpoint covers yet); any other is reported.
 */
function reportMissing(
  tree: TreeStore, runs: Array<[number, number]>, kept: { oldestKept: RecordAt | null; signedLeaves: number },
  report: VerifyReport, problem: (line: string) => void,
): void {
  for (const [first, last] of runs) {
    for (const leaf of tree.leafRange(first, last)) {
      if (leaf.seq <= kept.signedLeaves && sortsBefore(leaf.createdAtMs, leaf.id, kept.oldestKept)) report.pruned++;
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
