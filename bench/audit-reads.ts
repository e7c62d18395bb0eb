// Issue 10, finding 8: a proxied GET's latency alone and while 4 heavy audit queries run (each reads every record:
// /v1/audit-logs?page_size=1&resource_type=x), over 1,000,000 records (100,000 with --quick), measured side by side
// against one audit-proxy process. Standalone: `npx tsc -p . && node dist/bench/audit-reads.js [--quick]`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { Pool } from 'undici';
import { storeSchema } from '../src/config/sections/store.js';
import { sha256 } from '../src/principal/digest.js';
import { openAuditStore } from '../src/store/index.js';
import { startUpstream } from './lib/contenders.js';
import { freePort, startServer } from './lib/processes.js';
import { ingest } from './store.js';

const KEY = 'ak_bench_reader_0123456789abcdef0123';
const HEAVY = '/v1/audit-logs?page_size=1&resource_type=x';
const HEAVY_CLIENTS = 4;
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

export interface Latency {
  gets: number;
  p50Ms: number;
  p99Ms: number;
}

export interface AuditReadsFigures {
  records: number;
  quiet: Latency;
  busy: Latency;
  /** Heavy queries answered during the busy run, by status (200: finished within audit.queryTimeoutMs; 503: cut). */
  heavyByStatus: Record<string, number>;
}

export async function runAuditReadsBench(quick: boolean): Promise<AuditReadsFigures> {
  const records = quick ? 100_000 : 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'audit-proxy-reads-bench-'));
  try {
    const store = openAuditStore(storeSchema.parse({ path: dir, retention: { maxAgeDays: 0 } }), pino({ level: 'warn' }));
    await ingest(store, records);
    await store.close();
    return { records, ...(await measure(dir, quick ? 5 : 15)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(dir: string, seconds: number): Promise<Omit<AuditReadsFigures, 'records'>> {
  const upstream = await startUpstream(null);
  const port = await freePort();
  const keys = `[{id: bench-reader, sha256: "${sha256(KEY).toString('hex')}", organizationId: org-3, scopes: ["audit:read:all"]}]`;
  const env = { ...process.env, AUDIT_PROXY__AUTH__KEYS: keys, AUDIT_PROXY__STORE__RETENTION__MAX_AGE_DAYS: '0', AUDIT_PROXY__LOG__REQUESTS: 'false' };
  const args = [CLI, 'serve', '--upstream', `http://127.0.0.1:${upstream.port}`, '--port', String(port), '--host', '127.0.0.1', '--data-dir', dir];
  const proxy = await startServer(process.execPath, args, port, { env });
  const gets = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  const audit = new Pool(`http://127.0.0.1:${port}`, { connections: HEAVY_CLIENTS });
  try {
    await getLatency(gets, 1); // warm-up
    const quiet = await getLatency(gets, seconds);
    const heavyByStatus: Record<string, number> = {};
    let stop = false;
    const heavyClient = async (): Promise<void> => {
      while (!stop) {
        const res = await audit.request({ path: HEAVY, method: 'GET', headers: { 'x-api-key': KEY } });
        await res.body.dump();
        if (!stop) heavyByStatus[res.statusCode] = (heavyByStatus[res.statusCode] ?? 0) + 1;
      }
    };
    const heavy = Array.from({ length: HEAVY_CLIENTS }, heavyClient);
    await new Promise((resolve) => setTimeout(resolve, 500)); // every heavy query is in flight
    const busy = await getLatency(gets, seconds);
    stop = true;
    await Promise.all(heavy);
    return { quiet, busy, heavyByStatus };
  } finally {
    await Promise.all([gets.close(), audit.close()]);
    await proxy.stop();
    await upstream.server.stop();
  }
}

/** Sequential proxied GETs on one keep-alive connection for `seconds`. */
async function getLatency(pool: Pool, seconds: number): Promise<Latency> {
  const times: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const started = performance.now();
    const res = await pool.request({ path: '/items/1', method: 'GET' });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`proxied GET answered ${res.statusCode}`);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(times.length * q))]! * 100) / 100;
  return { gets: times.length, p50Ms: at(0.5), p99Ms: at(0.99) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runAuditReadsBench(process.argv.includes('--quick')), null, 2));
}
