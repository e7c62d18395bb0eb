import type pg from 'pg';
import { openCheckpoint, type Checkpoint } from '../chain/checkpoint.js';
import { Frontier, leafHash } from '../chain/merkle.js';
import type { NoteVerifier } from '../chain/note.js';
import { storedHoldsBody } from '../store/bodies.js';
import { CHECKPOINTS_TABLE, RECORDS_TABLE } from './schema.js';

export interface FleetVerifyOptions {
  /** The verifier key of a node, or null when none was given for it. */
  keyOf(nodeId: string): NoteVerifier | null;
  /** One line per problem. */
  problem(line: string): void;
  /** What is not a problem but limits the check (stderr). */
  note(line: string): void;
}

export interface FleetVerifyReport {
  nodes: number;
  problems: number;
  records: number;
  checkpoints: number;
  /** Rows shipped before their stored bytes were (migration 2): they cannot be rechecked. */
  unverifiable: number;
  /** Checkpoints past a row that is missing, unverifiable or changed: their roots cannot be recomputed. */
  unchecked: number;
  /** Rows past a node's newest shipped checkpoint (it signs them within its interval). */
  uncovered: number;
}

/** Rows read per FETCH of the cursor that walks a node's records in seq order. */
const FETCH_ROWS = 10_000;

interface Row {
  seq: string;
  id: string;
  stored: Buffer | null;
  request_body: string | null;
  response_body: string | null;
}

/**
 * Checks the fleet's PostgreSQL copy against each node's signed checkpoints: for every node, recomputes the Merkle
 * leaves from the shipped stored bytes in seq order, rebuilds the tree, and compares each checkpoint's signed root.
 * Reads in one REPEATABLE READ transaction, so a shipper writing meanwhile does not move what is checked.
 */
export async function verifyFleet(client: pg.ClientBase, options: FleetVerifyOptions): Promise<FleetVerifyReport> {
  const report: FleetVerifyReport = { nodes: 0, problems: 0, records: 0, checkpoints: 0, unverifiable: 0, uncovered: 0, unchecked: 0 };
  const problem = (line: string): void => {
    report.problems++;
    options.problem(line);
  };
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const { rows } = await client.query<{ node_id: string }>(
      `SELECT node_id FROM ${CHECKPOINTS_TABLE} UNION SELECT DISTINCT node_id FROM ${RECORDS_TABLE} ORDER BY 1`);
    for (const { node_id: node } of rows) {
      report.nodes++;
      const key = options.keyOf(node);
      if (!key) {
        problem(`node ${node}: no public key given for it (--public-keys), its records cannot be checked`);
        continue;
      }
      const checkpoints = await signedCheckpoints(client, node, key, report, problem);
      await walkNode(client, node, checkpoints, report, problem, options);
    }
    return report;
  } finally {
    await client.query('ROLLBACK');
  }
}

async function signedCheckpoints(
  client: pg.ClientBase, node: string, key: NoteVerifier, report: FleetVerifyReport, problem: (line: string) => void,
): Promise<Checkpoint[]> {
  const { rows } = await client.query<{ tree_size: string; note: string }>(
    `SELECT tree_size, note FROM ${CHECKPOINTS_TABLE} WHERE node_id = $1 ORDER BY tree_size`, [node]);
  const valid: Checkpoint[] = [];
  for (const row of rows) {
    report.checkpoints++;
    const size = Number(row.tree_size);
    const opened = openCheckpoint(row.note, key);
    if (!opened.ok) problem(`node ${node} checkpoint at tree size ${size}: checkpoint signature bad: ${opened.problem}`);
    else if (opened.checkpoint.size !== size) problem(`node ${node} checkpoint at tree size ${size}: checkpoint signature bad: it signs tree size ${opened.checkpoint.size}`);
    else valid.push(opened.checkpoint);
  }
  return valid;
}

/** The tree rebuilt from a node's rows; once a row is missing or unverifiable, later roots cannot be recomputed. */
class NodeWalk {
  readonly frontier = new Frontier();
  expectedSeq = 1;
  /** Why roots past this point cannot be recomputed (null while they can). */
  broken: string | null = null;
  /** The tree size of the last checkpoint whose root matched. */
  matched = 0;
  /** The highest seq walked (the tree's size while it is not broken). */
  reached = 0;
  private next = 0;

  constructor(readonly node: string, readonly checkpoints: Checkpoint[], private readonly problem: (line: string) => void) {}

  /** Compares every checkpoint the tree has reached with its root, and names the rest once the tree is broken. */
  checkReached(): void {
    while (this.next < this.checkpoints.length && this.checkpoints[this.next]!.size <= this.reached) {
      const checkpoint = this.checkpoints[this.next++]!;
      if (this.broken !== null) {
        this.unchecked++;
        continue;
      }
      if (this.frontier.root().equals(checkpoint.root)) {
        this.matched = checkpoint.size;
        continue;
      }
      this.problem(`node ${this.node} seq ${this.matched + 1}..${checkpoint.size}: changed: the shipped records do not hash to the root`
        + ` the node signed at tree size ${checkpoint.size} (a record's bytes were altered, or one inserted or removed)`);
      this.broken = `the records before tree size ${checkpoint.size} differ from what the node signed`;
    }
  }

  /** Checkpoints past the point where the tree broke. */
  unchecked = 0;

  breakAt(reason: string): void {
    this.broken ??= reason;
  }
}

async function walkNode(
  client: pg.ClientBase, node: string, checkpoints: Checkpoint[], report: FleetVerifyReport, problem: (line: string) => void,
  options: FleetVerifyOptions,
): Promise<void> {
  const walk = new NodeWalk(node, checkpoints, problem);
  // DECLARE takes no bind parameters: the node id goes in as a quoted literal.
  await client.query(`DECLARE node_rows NO SCROLL CURSOR FOR SELECT seq, id, stored, record->>'requestBody' AS request_body, record->>'responseBody' AS response_body FROM ${RECORDS_TABLE} WHERE node_id = ${quoteLiteral(node)} ORDER BY seq, id`);
  try {
    let previous: Row | null = null;
    for (;;) {
      const { rows } = await client.query<Row>(`FETCH ${FETCH_ROWS} FROM node_rows`);
      for (const row of rows) {
        visit(walk, row, previous, report, problem);
        previous = row;
      }
      if (rows.length < FETCH_ROWS) break;
    }
  } finally {
    await client.query('CLOSE node_rows');
  }
  const last = checkpoints[checkpoints.length - 1];
  if (last && last.size >= walk.expectedSeq) {
    problem(`node ${node} seq ${walk.expectedSeq}..${last.size}: missing: signed at tree size ${last.size}, no row in PostgreSQL`);
  }
  report.uncovered += Math.max(0, walk.expectedSeq - 1 - (last?.size ?? 0));
  report.unchecked += walk.unchecked;
  if (walk.unchecked > 0) options.note(`node ${node}: ${walk.unchecked} checkpoints past seq ${walk.reached} not rechecked: ${walk.broken}`);
}

function visit(walk: NodeWalk, row: Row, previous: Row | null, report: FleetVerifyReport, problem: (line: string) => void): void {
  const seq = Number(row.seq);
  const node = walk.node;
  if (previous && Number(previous.seq) === seq) {
    problem(`node ${node} seq ${seq} id ${row.id}: inserted: a second row claims this seq (beside id ${previous.id})`);
    walk.breakAt(`seq ${seq} has two rows`);
    return;
  }
  report.records++;
  if (seq > walk.expectedSeq) {
    problem(`node ${node} seq ${walk.expectedSeq}..${seq - 1}: missing: no row in PostgreSQL (deleted, or never shipped)`);
    walk.breakAt(`seq ${walk.expectedSeq} is missing`);
  }
  walk.expectedSeq = seq + 1;
  if (row.stored === null) {
    report.unverifiable++;
    walk.breakAt(`seq ${seq} was shipped without its stored bytes`);
  }
  if (walk.broken === null) walk.frontier.append(leafHash(row.stored!));
  if (row.stored !== null) checkBodies(row, (field) => problem(`node ${node} seq ${seq} id ${row.id}: changed: its ${field} is not the body its stored bytes hold or name`));
  walk.reached = seq;
  walk.checkReached();
}

/**
 * The row's bodies (its `record`, which nothing signs) against its signed stored bytes: a body stored apart in the
 * node's LMDB is named there by its SHA-256, a smaller one is inside them.
 */
function checkBodies(row: Row, changed: (field: string) => void): void {
  if (row.request_body !== null && !storedHoldsBody(row.stored!, row.request_body)) changed('requestBody');
  if (row.response_body !== null && !storedHoldsBody(row.stored!, row.response_body)) changed('responseBody');
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
