// GET /v1/audit-logs/stats over HTTP against 24 h of 1,000,000 records (100,000 with --quick), through the audit-proxy
// CLI, end to end (request to parsed JSON body) over one keep-alive connection. Target: p99 <= 50 ms for 24 h.
// Standalone: `npm run build && node dist/bench/stats.js [--quick]`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { Pool } from 'undici';
import type { AuditRecord } from '../src/audit/record.js';
import { storeSchema } from '../src/config/sections/store.js';
import { sha256 } from '../src/principal/digest.js';
import { openAuditStore, type LmdbAuditStore } from '../src/store/index.js';
import { cpuMs, freePort, startServer } from './lib/processes.js';
import { benchRecord } from './store.js';

const KEY = 'ak_bench_reader_0123456789abcdef0123';
const PATH = '/v1/audit-logs/stats';
const RECORDS_PATH = '/v1/audit-logs/records';
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const DAY_MS = 86_400_000;
const CHUNK = 5_000;
const STATUSES = [200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 404, 429, 500, 502];

export interface StatsFigures {
  records: number;
  allOrgs24hP99Ms: number;
  oneOrg24hMinuteBucketsP99Ms: number;
  oneOrg1hP99Ms: number;
  scanFallback1hP99Ms: number;
  /** GET /v1/audit-logs/records, 50 records of one organization in the last 24 h: the viewer's first table. */
  recordsFirstPageP99Ms: number;
  /** The server's CPU time per query (user + system), independent of what else the machine runs. */
  allOrgs24hCpuMs: number;
  oneOrg24hMinuteBucketsCpuMs: number;
  scanFallback1hCpuMs: number;
}

/** A bench record spread evenly over 24 h from `startMs`, with varied status and a long-tailed duration. */
function recordAt(i: number, records: number, startMs: number): AuditRecord {
  const ms = startMs + Math.floor((i * DAY_MS) / records);
  const base = benchRecord(i);
  return {
    ...base, id: `${ms.toString(16).padStart(12, '0')}-7000-8000-${i.toString(16).padStart(12, '0')}`, createdAt: new Date(ms).toISOString(),
    statusCode: STATUSES[i % STATUSES.length]!, durationMs: 2 + ((i * 7919) % 1000) ** 2 / 2000,
  };
}

async function ingest(store: LmdbAuditStore, records: number, startMs: number): Promise<void> {
  for (let i = 0; i < records; i += CHUNK) {
    for (let j = i; j < Math.min(records, i + CHUNK); j++) store.append(recordAt(j, records, startMs));
    while (store.health().queueDepth > 4 * CHUNK) await new Promise((resolve) => setImmediate(resolve));
  }
  await store.flush();
}

export async function runStatsBench(quick: boolean): Promise<StatsFigures> {
  const records = quick ? 100_000 : 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'audit-proxy-stats-bench-'));
  try {
    const store = openAuditStore(storeSchema.parse({ path: dir, queueMax: 50_000, retention: { maxAgeDays: 0 } }), pino({ level: 'warn' }));
    // The rollup counts from the minute after the store opened: the 24 h start there (in the future, as far as the
    // clock goes, which the store does not mind).
    const startMs = store.statsRollup!.sinceMs();
    await ingest(store, records, startMs);
    await store.close();
    return await measure(dir, records, startMs, quick ? 100 : 300);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(dir: string, records: number, startMs: number, runs: number): Promise<StatsFigures> {
  const port = await freePort();
  const keys = `[{id: bench-reader, sha256: "${sha256(KEY).toString('hex')}", organizationId: org-3, scopes: ["audit:read:all"]}]`;
  const env = { ...process.env, AUDIT_PROXY__AUTH__KEYS: keys, AUDIT_PROXY__STORE__RETENTION__MAX_AGE_DAYS: '0', AUDIT_PROXY__LOG__REQUESTS: 'false' };
  const args = [CLI, 'serve', '--upstream', 'http://127.0.0.1:9', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dir];
  const proxy = await startServer(process.execPath, args, port, { env });
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  const get = async (query: string, path = PATH): Promise<{ source?: string; buckets: { count: number }[] }> => {
    const res = await pool.request({ path: `${path}?${query}`, method: 'GET', headers: { 'x-api-key': KEY } });
    const body = (await res.body.json()) as { data: { source?: string; buckets: { count: number }[] } };
    if (res.statusCode !== 200) throw new Error(`${path}?${query} answered ${res.statusCode}: ${JSON.stringify(body)}`);
    return body.data;
  };
  const cpu = new Map<string, number>();
  const p99 = async (query: string, source: string | undefined, path = PATH): Promise<number> => {
    const first = await get(query, path);
    if (first.source !== source) throw new Error(`${path}?${query} was answered by ${first.source}, not ${source}`);
    for (let i = 0; i < 10; i++) await get(query, path);
    const times: number[] = [];
    const cpuBefore = cpuMs(proxy.child.pid!);
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await get(query, path);
      times.push(performance.now() - started);
    }
    cpu.set(query, Math.round(((cpuMs(proxy.child.pid!) - cpuBefore) / runs) * 100) / 100);
    times.sort((a, b) => a - b);
    return Math.round(times[Math.min(runs - 1, Math.floor(runs * 0.99))]! * 100) / 100;
  };
  const iso = (ms: number) => new Date(ms).toISOString();
  const day = `from=${iso(startMs)}&to=${iso(startMs + DAY_MS - 1)}`;
  const hour = `from=${iso(startMs + 12 * 3_600_000)}&to=${iso(startMs + 13 * 3_600_000 - 1)}`;
  try {
    const all = await get(day);
    const counted = all.buckets.reduce((sum, b) => sum + b.count, 0);
    if (counted !== records) throw new Error(`the rollup counted ${counted} of ${records} records`);
    const minutes = `${day}&organizationId=org-3&bucket=1m`;
    const scan = `${hour}&organizationId=org-3&method=POST`;
    return {
      records,
      allOrgs24hP99Ms: await p99(day, 'rollup'),
      oneOrg24hMinuteBucketsP99Ms: await p99(minutes, 'rollup'),
      oneOrg1hP99Ms: await p99(`${hour}&organizationId=org-3`, 'rollup'),
      scanFallback1hP99Ms: await p99(scan, 'scan'),
      recordsFirstPageP99Ms: await p99(`${day}&organizationId=org-3&limit=50`, undefined, RECORDS_PATH),
      allOrgs24hCpuMs: cpu.get(day)!,
      oneOrg24hMinuteBucketsCpuMs: cpu.get(minutes)!,
      scanFallback1hCpuMs: cpu.get(scan)!,
    };
  } finally {
    await pool.close();
    await proxy.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  console.log(JSON.stringify(await runStatsBench(process.argv.includes('--quick')), null, 2));
}
