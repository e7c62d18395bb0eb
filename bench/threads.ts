// Where recording's CPU goes, thread by thread: one audit-proxy worker under wrk (50 connections), its thread
// proxying traffic alone on CPU 0 and every other thread of it (the store's writer, the Merkle log, the readers, V8's
// GC helpers, libuv's pool) on CPU 1 with wrk and the upstream, so that none of them takes time from that thread. CPU
// of each thread per request, grouped by the names the proxy gives its threads (src/thread-name.ts); recording off
// and on interleaved, best of the rounds by total CPU.
// Standalone: `npx tsc -p . && node dist/bench/threads.js [--quick]`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { auditProxy, startContender, startUpstream } from './lib/contenders.js';
import { ensureTool } from './lib/install.js';
import { procStat } from './lib/processes.js';
import { wrk, writePostScript } from './lib/wrk.js';

const CONNECTIONS = 50;
/** USER_HZ: the tick of /proc's CPU times on Linux. */
const TICK_US = 10_000;
const MAIN = 'main (proxying traffic)';
const OTHER = 'other threads (V8 GC, libuv pool)';
export const THREAD_GROUPS = [MAIN, 'audit-writer', 'audit-merkle', 'audit-reader', OTHER] as const;

export interface ThreadFigures {
  rps: number;
  /** CPU µs per request of every thread of the proxy. */
  totalUs: number;
  /** CPU µs per request by THREAD_GROUPS. */
  byThread: Record<string, number>;
}

/** results[load][recording off | on] */
export type ThreadResults = Record<string, Record<'off' | 'on', ThreadFigures>>;

export async function runThreadsBench({ quick = false } = {}): Promise<ThreadResults | null> {
  if (!ensureTool('wrk', 'wrk') || !ensureTool('taskset', 'util-linux')) return null;
  const root = mkdtempSync(join(tmpdir(), 'audit-threads-bench-'));
  const upstream = await startUpstream('1');
  const loads = { 'GET c50': null, 'POST16k c50': writePostScript(root, 16 * 1024) };
  const results: ThreadResults = {};
  try {
    for (let round = 0; round < (quick ? 1 : 3); round++) {
      for (const [load, script] of Object.entries(loads)) {
        for (const recording of ['off', 'on'] as const) {
          const figures = await measure(upstream.port, join(root, `${load.replace(/\W+/g, '-')}-${recording}-${round}`), recording === 'on', script, quick ? 2 : 5);
          const best = results[load]?.[recording];
          if (!best || figures.totalUs < best.totalUs) (results[load] ??= {} as ThreadResults[string])[recording] = figures;
        }
      }
    }
    return results;
  } finally {
    await upstream.server.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** One proxy, started for this run (its threads then all new), warmed up, then loaded for `seconds`. */
async function measure(upstreamPort: number, dir: string, record: boolean, script: string | null, seconds: number): Promise<ThreadFigures> {
  const proxy = await startContender(auditProxy('audit-proxy', { record, logRequests: false, workers: 1 }), upstreamPort, dir, '0');
  try {
    const load = { url: proxy.url, connections: CONNECTIONS, script, cpus: '1' };
    moveHelperThreads(proxy.pid);
    await wrk({ ...load, seconds: 2 });
    moveHelperThreads(proxy.pid); // threads started during the warm-up (the V8 platform's, libuv's) inherit CPU 0
    const before = threadTicks(proxy.pid);
    const run = await wrk({ ...load, seconds });
    const after = threadTicks(proxy.pid);
    const requests = run.rps * seconds;
    const byThread: Record<string, number> = Object.fromEntries(THREAD_GROUPS.map((group) => [group, 0]));
    for (const [tid, { name, ticks }] of after) {
      const group = tid === proxy.pid ? MAIN : (THREAD_GROUPS as readonly string[]).includes(name) ? name : OTHER;
      byThread[group]! += ((ticks - (before.get(tid)?.ticks ?? 0)) * TICK_US) / requests;
    }
    return { rps: run.rps, totalUs: Object.values(byThread).reduce((a, b) => a + b, 0), byThread };
  } finally {
    await proxy.stop();
  }
}

/** Every thread of the process but its first onto CPU 1. */
function moveHelperThreads(pid: number): void {
  for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
    if (tid !== pid) spawnSync('taskset', ['-p', '-c', '1', String(tid)], { stdio: 'ignore' });
  }
}

/** tid -> its name and CPU ticks (user + system) so far. */
function threadTicks(pid: number): Map<number, { name: string; ticks: number }> {
  const out = new Map<number, { name: string; ticks: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
    const stat = procStat(`/proc/${pid}/task/${tid}/stat`);
    if (stat) out.set(tid, stat); // else ended meanwhile
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runThreadsBench({ quick: process.argv.includes('--quick') }), null, 2));
}
