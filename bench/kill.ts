// The loss window on kill -9: a recording proxy under GET load, or 16 KiB JSON POSTs whose bodies are each new and
// stored apart (50 connections), is killed at a random moment; its store is then opened and every answered request
// looked for. A record not yet committed can be lost (the write queue gathers a batch for up to its commit interval);
// one answered more than LOSS_BOUND_MS before the kill must not be, and no record kept may lack its body.
// Standalone: `npx tsc -p . && node dist/bench/kill.js [--quick] [--post]`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { Pool } from 'undici';
import { parseConfig } from '../src/config/load.js';
import { openAuditStore } from '../src/store/index.js';
import { auditProxy, startContender, startUpstream } from './lib/contenders.js';

/** Records answered this long before the kill must all be on disk (issue 11). */
export const LOSS_BOUND_MS = 50;
const CONNECTIONS = 50;
/** Padding of a POST body: with its JSON around it, within capture.requestBody.maxBytes (16 KiB), so kept whole. */
const POST_PAD_BYTES = 16 * 1024 - 64;

export type KillLoad = 'GET' | 'POST';

export interface KillFigures {
  kills: number;
  answered: number;
  /** Answered, not on disk after the kill: the records a kill -9 may take (not yet committed). */
  lost: number;
  /** The longest a lost record had been answered before the kill (0 when none was lost). */
  lossWindowMs: number;
  /** Lost records answered more than LOSS_BOUND_MS before the kill (must be 0). */
  lostBeyondBound: number;
  /** Records kept whose body is not the one sent (POST: must be 0). */
  wrongBodies: number;
}

type Round = Omit<KillFigures, 'kills'>;

export async function runKillBench({ quick = false, load = 'GET' as KillLoad } = {}): Promise<KillFigures> {
  const upstream = await startUpstream(null);
  const rounds: Round[] = [];
  try {
    for (let i = 0; i < (quick ? 2 : 5); i++) rounds.push(await killRound(upstream.port, load, i, 2_000 + Math.random() * 2_000));
  } finally {
    await upstream.server.stop();
  }
  return {
    kills: rounds.length,
    answered: rounds.reduce((sum, round) => sum + round.answered, 0),
    lost: rounds.reduce((sum, round) => sum + round.lost, 0),
    lossWindowMs: Math.max(...rounds.map((round) => round.lossWindowMs)),
    lostBeyondBound: rounds.reduce((sum, round) => sum + round.lostBeyondBound, 0),
    wrongBodies: rounds.reduce((sum, round) => sum + round.wrongBodies, 0),
  };
}

/** A body new for every request (so each is stored apart, hashed and compressed): its request id, padded. */
function killBody(requestId: string): string {
  return JSON.stringify({ requestId, data: `${requestId} `.repeat(Math.floor(POST_PAD_BYTES / (requestId.length + 1))) });
}

/** One proxy, loaded for `loadMs`, killed with SIGKILL; answered request ids against what its store holds. */
async function killRound(upstreamPort: number, load: KillLoad, round: number, loadMs: number): Promise<Round> {
  const root = mkdtempSync(join(tmpdir(), 'audit-kill-bench-'));
  try {
    const proxy = await startContender(auditProxy('audit-proxy on', { record: true, logRequests: false, workers: 1 }), upstreamPort, root, null);
    const answeredAt = new Map<string, number>();
    const pool = new Pool(proxy.url, { connections: CONNECTIONS });
    let running = true;
    let sent = 0;
    const client = async (): Promise<void> => {
      while (running) {
        const requestId = `kill-${round}-${sent++}`;
        try {
          const response = await pool.request(load === 'GET'
            ? { path: '/v1/things', method: 'GET', headers: { 'x-request-id': requestId } }
            : { path: '/v1/things', method: 'POST', body: killBody(requestId), headers: { 'x-request-id': requestId, 'content-type': 'application/json' } });
          await response.body.dump();
          if (response.statusCode === 200) answeredAt.set(requestId, Date.now());
        } catch {
          return; // the proxy is gone
        }
      }
    };
    const clients = Array.from({ length: CONNECTIONS }, client);
    await new Promise((resolve) => setTimeout(resolve, loadMs));
    process.kill(proxy.pid, 'SIGKILL');
    const killedAt = Date.now();
    running = false;
    await Promise.all(clients);
    await pool.destroy();
    await proxy.stop();
    const stored = await storedBodies(join(root, 'audit-proxy-on', 'store'));
    return { ...compare(stored, answeredAt, killedAt), wrongBodies: load === 'POST' ? wrongBodies(stored) : 0 };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function compare(stored: Map<string, string | null>, answeredAt: Map<string, number>, killedAt: number): Omit<Round, 'wrongBodies'> {
  let lost = 0;
  let lossWindowMs = 0;
  let lostBeyondBound = 0;
  for (const [requestId, at] of answeredAt) {
    if (stored.has(requestId)) continue;
    lost++;
    lossWindowMs = Math.max(lossWindowMs, killedAt - at);
    if (killedAt - at > LOSS_BOUND_MS) lostBeyondBound++;
  }
  return { answered: answeredAt.size, lost, lossWindowMs, lostBeyondBound };
}

function wrongBodies(stored: Map<string, string | null>): number {
  let wrong = 0;
  for (const [requestId, body] of stored) if (body !== killBody(requestId)) wrong++;
  return wrong;
}

/** Request id -> captured request body of every record the store holds. */
async function storedBodies(path: string): Promise<Map<string, string | null>> {
  const config = parseConfig({ upstream: { url: 'http://127.0.0.1:9' }, store: { path, retention: { maxAgeDays: 0 } } });
  const store = openAuditStore(config.store, pino({ level: 'silent' }), { readOnly: true });
  try {
    const bodies = new Map<string, string | null>();
    for await (const record of store.iterate({})) bodies.set(record.requestId, record.requestBody);
    return bodies;
  } finally {
    await store.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runKillBench({ quick: process.argv.includes('--quick'), load: process.argv.includes('--post') ? 'POST' : 'GET' })));
}
