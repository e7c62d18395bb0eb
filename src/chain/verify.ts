import type { CommitLog, LogEntry } from '../store/store.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { consistencyProof, Frontier, leafHash, verifyConsistency } from './merkle.js';
import type { NoteVerifier } from './note.js';
import type { LeafEntry, TreeStore } from './tree-store.js';

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

const PAGE = 4096;
const PROGRESS_EVERY = 1 << 16;

/** A leaf whose stored record does not hash to it. */
interface Mismatch {
  leaf: LeafEntry;
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
  reportMismatches(walk.mismatches, problem);
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

/** One pass in seq order over the log's leaves beside the store's commit log. */
function walkLeaves(
  log: CommitLog, tree: TreeStore, report: VerifyReport, problem: (line: string) => void,
  expectedRoots: Map<number, { name: string; root: Buffer }>, progress?: (done: number, total: number) => void,
): Walk {
  const walk: Walk = { mismatches: [], missing: [], oldestKept: null };
  const entries = new CommitLogReader(log, (entry) => {
    if (!walk.oldestKept || compareKey(entry, walk.oldestKept) < 0) walk.oldestKept = [entry.createdAtMs, entry.id];
  });
  const frontier = new Frontier();
  let expected = 1;
  const stored = new StoredNodes(tree);
  const onNode = (level: number, index: number, hash: Buffer): void => {
    if (!stored.at(level, index)?.equals(hash)) problem(`tree node at level ${level}, index ${index}: differs from the leaves below it`);
  };
  for (const leaf of tree.leafRange(1, report.leaves)) {
    for (; expected < leaf.seq; expected++) {
      problem(`seq ${expected}: the log has no leaf for it (removed from the log)`);
      frontier.append(Buffer.alloc(32), onNode);
    }
    expected++;
    const entry = entries.at(leaf.seq);
    if (!entry) addToRuns(walk.missing, leaf.seq);
    else {
      const storedHash = leafHash(entry.bytes);
      if (entry.id !== leaf.id || !storedHash.equals(leaf.hash)) walk.mismatches.push({ leaf, storedId: entry.id, storedHash });
    }
    frontier.append(leaf.hash, onNode);
    const expectedRoot = expectedRoots.get(frontier.size);
    if (expectedRoot && !frontier.root().equals(expectedRoot.root)) problem(`${expectedRoot.name}: root hash differs from the tree (the log was rewritten)`);
    if (leaf.seq % PROGRESS_EVERY === 0) progress?.(leaf.seq, report.leaves);
  }
  report.unlogged = entries.countAfter(report.leaves);
  progress?.(report.leaves, report.leaves);
  return walk;
}

function compareKey(entry: LogEntry, key: [number, string]): number {
  return entry.createdAtMs - key[0] || (entry.id < key[1] ? -1 : entry.id > key[1] ? 1 : 0);
}

function addToRuns(runs: Array<[number, number]>, seq: number): void {
  const last = runs[runs.length - 1];
  if (last && last[1] === seq - 1) last[1] = seq;
  else runs.push([seq, seq]);
}

const NODE_CHUNK = 1024;

/** The stored interior nodes, read level by level in chunks as the walk completes them in index order. */
class StoredNodes {
  private readonly chunks = new Map<number, { from: number; hashes: Map<number, Buffer> }>();

  constructor(private readonly tree: TreeStore) {}

  at(level: number, index: number): Buffer | undefined {
    let chunk = this.chunks.get(level);
    if (!chunk || index < chunk.from || index >= chunk.from + NODE_CHUNK) {
      const hashes = new Map<number, Buffer>();
      for (const node of this.tree.levelRange(level, index, index + NODE_CHUNK)) hashes.set(node.index, node.hash);
      chunk = { from: index, hashes };
      this.chunks.set(level, chunk);
    }
    return chunk.hashes.get(index);
  }
}

/**
 * Reads the commit log forward by seq in pages. A page of `limit` log entries reaches at least seq afterSeq + limit, so
 * continuing after max(that, the last entry returned) skips none, even where records are missing.
 */
class CommitLogReader {
  private page: LogEntry[] = [];
  private index = 0;
  private readThrough = 0;

  constructor(private readonly log: CommitLog, private readonly onEntry: (entry: LogEntry) => void) {}

  /** The stored entry at seq (seqs asked for ascend), or undefined when its record is not in the store. */
  at(seq: number): LogEntry | undefined {
    for (;;) {
      while (this.index < this.page.length && this.page[this.index]!.seq < seq) this.index++;
      if (this.index < this.page.length) return this.page[this.index]!.seq === seq ? this.page[this.index] : undefined;
      if (seq <= this.readThrough || !this.next()) return undefined;
    }
  }

  /** How many stored entries lie beyond seq (read to the end). */
  countAfter(seq: number): number {
    let count = 0;
    do {
      count += this.page.slice(this.index).filter((entry) => entry.seq > seq).length;
      this.index = this.page.length;
    } while (this.next());
    return count;
  }

  private next(): boolean {
    const afterSeq = this.readThrough;
    this.page = this.log.readLog(afterSeq, PAGE);
    this.index = 0;
    for (const entry of this.page) this.onEntry(entry);
    const last = this.page[this.page.length - 1]?.seq ?? 0;
    this.readThrough = Math.max(afterSeq + PAGE, last);
    return this.page.length > 0 || afterSeq < this.log.lastSeq();
  }
}

/** Names each mismatch: a record from another seq (reordered), another record (inserted), or the same one changed. */
function reportMismatches(mismatches: Mismatch[], problem: (line: string) => void): void {
  const loggedAt = new Map(mismatches.map((m) => [m.leaf.hash.toString('base64'), m.leaf]));
  for (const { leaf, storedId, storedHash } of mismatches) {
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
