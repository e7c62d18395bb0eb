import { readFileSync } from 'node:fs';
import pg from 'pg';
import { parseVerifierKey, type NoteVerifier } from '../chain/note.js';
import { connectionConfig } from '../fleet/connection.js';
import { verifyFleet, type FleetVerifyReport } from '../fleet/verify.js';
import { fleetConfig } from './query-command.js';

type Print = (text: string) => void;

export interface VerifyFleetArgs {
  config?: string | undefined;
  'public-key'?: string | undefined;
  'public-keys'?: string | undefined;
}

/** `audit-proxy verify --fleet`: the fleet's PostgreSQL copy against every node's signed checkpoints. */
export async function runVerifyFleet(args: VerifyFleetArgs, print: Print, note: Print): Promise<void> {
  const keyOf = keysOf(args);
  const client = new pg.Client(connectionConfig(fleetConfig(args)));
  await client.connect();
  try {
    const started = performance.now();
    const report = await verifyFleet(client, { keyOf, problem: print, note });
    note(summary(report, performance.now() - started));
    if (report.problems > 0) process.exitCode = 1;
  } finally {
    await client.end();
  }
}

/** --public-key: one key for every node; --public-keys: lines of `<node id> <public key>` (# starts a comment). */
function keysOf(args: VerifyFleetArgs): (nodeId: string) => NoteVerifier | null {
  if (args['public-keys'] !== undefined) {
    const keys = parseKeyMap(readText(args['public-keys'], '--public-keys'));
    return (nodeId) => keys.get(nodeId) ?? null;
  }
  if (args['public-key'] !== undefined) {
    const key = parseVerifierKey(readText(args['public-key'], '--public-key'));
    return () => key;
  }
  throw new Error('verify --fleet needs --public-key FILE (one key for every node) or --public-keys FILE (lines of "<node id> <public key>")');
}

export function parseKeyMap(text: string): Map<string, NoteVerifier> {
  const keys = new Map<string, NoteVerifier>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const [nodeId, key, extra] = line.split(/\s+/);
    if (key === undefined || extra !== undefined) throw new Error(`--public-keys line ${index + 1}: expected "<node id> <public key>"`);
    try {
      keys.set(nodeId!, parseVerifierKey(key));
    } catch (err) {
      throw new Error(`--public-keys line ${index + 1}: ${(err as Error).message}`);
    }
  });
  return keys;
}

function readText(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function summary(report: FleetVerifyReport, ms: number): string {
  const rate = Math.round(report.records / Math.max(ms / 1000, 1e-3));
  const counts = `${report.nodes} nodes, ${report.records} records, ${report.checkpoints} checkpoints, ${report.unverifiable} shipped without`
    + ` stored bytes (unverifiable), ${report.unchecked} checkpoints not rechecked, ${report.uncovered} records after the newest checkpoint; ${rate} records/s`;
  return report.problems === 0 ? `intact: ${counts}` : `${report.problems} problem${report.problems === 1 ? '' : 's'}: ${counts}`;
}
