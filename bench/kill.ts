// The loss window on kill -9: a recording proxy under GET load (50 connections) is killed at a random moment; its store
// is then opened and every answered request looked for. A record not yet committed can be lost (the write queue
// gathers a batch for up to its commit interval); one answered more than LOSS_BOUND_MS before the kill must not be.
// Standalone: `npx tsc -p . && node dist/bench/kill.js [--quick]`.
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

export interface KillFigures {
  kills: number;
  answered: number;
  /** Answered, not on disk after the kill: the records a kill -9 may take (not yet committed). */
  lost: number;
  /** The longest a lost record had been answered before the kill (0 when none was lost). */
  lossWindowMs: number;
  /** Lost records answered more than LOSS_BOUND_MS before the kill (must be 0). */
  lostBeyondBound: number;
}

interface Round {
  answered: number;
  lost: number;
  lossWindowMs: number;
  lostBeyondBound: number;
}

export async function runKillBench({ quick = false } = {}): Promise<KillFigures> {
  const upstream = await startUpstream(null);
  const rounds: Round[] = [];
  try {
    for (let i = 0; i < (quick ? 2 : 5); i++) rounds.push(await killRound(upstream.port, i, 2_000 + Math.random() * 2_000));
  } finally {
    await upstream.server.stop();
  }
  return {
    kills: rounds.length,
    answered: rounds.reduce((sum, round) => sum + round.answered, 0),
    lost: rounds.reduce((sum, round) => sum + round.lost, 0),
    lossWindowMs: Math.max(...rounds.map((round) => round.lossWindowMs)),
    lostBeyondBound: rounds.reduce((sum, round) => sum + round.lostBeyondBound, 0),
  };
}

/** One proxy, loaded for `loadMs`, killed with SIGKILL; answered request ids against what its store holds. */
async function killRound(upstreamPort: number, round: number, loadMs: number): Promise<Round> {
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
          const response = await pool.request({ path: '/v1/things', method: 'GET', headers: { 'x-request-id': requestId } });
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
    return compare(await storedRequestIds(join(root, 'audit-proxy-on', 'store')), answeredAt, killedAt);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function compare(stored: Set<string>, answeredAt: Map<string, number>, killedAt: number): Round {
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

async function storedRequestIds(path: string): Promise<Set<string>> {
  const config = parseConfig({ upstream: { url: 'http://127.0.0.1:9' }, store: { path, retention: { maxAgeDays: 0 } } });
  const store = openAuditStore(config.store, pino({ level: 'silent' }), { readOnly: true });
  try {
    const ids = new Set<string>();
    for await (const record of store.iterate({})) ids.add(record.requestId);
    return ids;
  } finally {
    await store.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runKillBench({ quick: process.argv.includes('--quick') })));
}
