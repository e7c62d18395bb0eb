// Issues 5 and 11 over HTTP: GET /v1/api-keys/requests and GET /v1/audit-logs (which answers a total with every page)
// against a store of 1,000,000 records (100,000 with --quick), through the audit-proxy CLI, end to end (request to
// parsed JSON body) over one keep-alive connection: every filter of both endpoints, a cursor page 10,000 deep.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Pool } from 'undici';
import { storeSchema } from '../src/config/sections/store.js';
import { sha256 } from '../src/principal/digest.js';
import { openAuditStore } from '../src/store/index.js';
import { freePort, startServer } from './lib/processes.js';
import { ingest } from './store.js';

const KEY = 'ak_bench_reader_0123456789abcdef0123';
const PATH = '/v1/api-keys/requests';
const LOGS = '/v1/audit-logs';
const SAMPLE_BUDGET_MS = 4_000;
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

export interface ApiFigures {
  records: number;
  /** p99 of a first page of 20 by filter, keyed `<endpoint> <filter>`. */
  firstPageP99Ms: Record<string, number>;
  /** p99 of a first page with its total (GET /v1/audit-logs), keyed by filter; and how many records matched. */
  totalP99Ms: Record<string, { ms: number; total: number }>;
  cursorDepth: number;
  cursorPageDeepP99Ms: number;
  /** CPU of the server process (every thread) per request while sampling, µs, keyed like the p99s (and `cursor`). */
  serverCpuUs: Record<string, number>;
  /** Median of the same samples, ms, keyed like serverCpuUs: beside the p99, what is the read and what is the tail. */
  medianMs: Record<string, number>;
}

// The bench data (bench/store.ts benchRecord), record i: organization org-(i % 20), 4 records per millisecond from
// 2026-11-01T00:00Z; i % 4 === 0 by a service account (org-4), else an API key (org-3); i % 5 === 0 a POST (org-5);
// i % 50 === 0 a 500 (a fifth of org-0); paths /v1/items/(i % 1000); principalId p-(i % 200); no user ids (that
// filter matches nothing). The reader's own reads are recorded under org-bench, apart from the data.
const START_MS = Date.parse('2026-11-01T00:00:00.000Z');

/** A window of a tenth of the data's time span, in its middle. */
function window(records: number): [string, string] {
  const spanMs = records / 4;
  return [new Date(START_MS + spanMs * 0.45).toISOString(), new Date(START_MS + spanMs * 0.55).toISOString()];
}

function requestsFilters(records: number): Record<string, string> {
  const [from, to] = window(records);
  return {
    organizationId: 'organizationId=org-3',
    '+ apiKeyId': 'organizationId=org-3&apiKeyId=org-3-key-3',
    '+ serviceAccountId': 'organizationId=org-4&serviceAccountId=org-4-sa-4',
    '+ userId (no match)': 'organizationId=org-3&userId=nobody',
    '+ method': 'organizationId=org-0&method=POST',
    '+ statusCode': 'organizationId=org-0&statusCode=500',
    '+ path (1 in 50)': 'organizationId=org-3&path=/v1/items/3',
    '+ from/to (a tenth)': `organizationId=org-3&from=${from}&to=${to}`,
  };
}

function logsFilters(records: number): Record<string, string> {
  const [from, to] = window(records);
  return {
    organisation_id: 'organisation_id=org-5',
    '+ method': 'organisation_id=org-5&method=POST',
    '+ uri (1 in 50)': 'organisation_id=org-5&uri=/v1/items/5',
    '+ request_id': `organisation_id=org-5&request_id=req-${records / 2 + 5}`,
    '+ user_id (an API key)': 'organisation_id=org-5&user_id=org-5-key-5',
    '+ user_type': 'organisation_id=org-5&user_type=api_key',
    '+ workspace_id': 'organisation_id=org-5&workspace_id=org-5-ws',
    '+ response_status_code': 'organisation_id=org-0&response_status_code=500',
    '+ resource_type': 'organisation_id=org-5&resource_type=item',
    '+ action': 'organisation_id=org-5&action=read',
    '+ client_ip': 'organisation_id=org-5&client_ip=203.0.113.7',
    '+ country': 'organisation_id=org-5&country=NL',
    '+ start_time/end_time (a tenth)': `organisation_id=org-5&start_time=${from}&end_time=${to}`,
  };
}

/** CPU seconds (user + system) of every thread of a process so far, from /proc (Linux; 0 elsewhere). */
function processCpuSeconds(pid: number | undefined): number {
  let ticks = 0;
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const fields = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
  } catch {
    return 0;
  }
  return ticks / 100; // USER_HZ
}

export async function runApiBench(quick: boolean): Promise<ApiFigures> {
  const records = quick ? 100_000 : 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'audit-proxy-api-bench-'));
  try {
    const store = openAuditStore(storeSchema.parse({ path: dir, queueMax: 50_000, retention: { maxAgeDays: 0 } }), pino({ level: 'warn' }));
    await ingest(store, records);
    await store.close();
    return await measure(dir, records, quick ? 100 : 300);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Waits until a signed checkpoint covers the ingested records: the server's Merkle log thread hashes a store it has
 * not seen (1,000,000 records, several CPU seconds) from its start, which in deployment it does as records arrive;
 * measured during that catch-up, pages compete with it for the cores.
 */
async function merkleLogCaughtUp(pool: Pool, records: number): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const res = await pool.request({ path: `${LOGS}/checkpoint`, method: 'GET', headers: { 'x-api-key': KEY } });
    const body = await res.body.json() as { data?: { treeSize: number } };
    if ((body.data?.treeSize ?? 0) >= records) return;
    if (Date.now() > deadline) throw new Error(`the Merkle log covered ${body.data?.treeSize ?? 0} of ${records} records after 300 s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function measure(dir: string, records: number, runs: number): Promise<ApiFigures> {
  const port = await freePort();
  const keys = `[{id: bench-reader, sha256: "${sha256(KEY).toString('hex')}", organizationId: org-bench, scopes: ["audit:read:all"]}]`;
  const env = { ...process.env, AUDIT_PROXY__AUTH__KEYS: keys, AUDIT_PROXY__STORE__RETENTION__MAX_AGE_DAYS: '0', AUDIT_PROXY__LOG__REQUESTS: 'false' };
  const args = [CLI, 'serve', '--upstream', 'http://127.0.0.1:9', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dir];
  const proxy = await startServer(process.execPath, args, port, { env });
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  const fetchJson = async (path: string): Promise<any> => {
    const res = await pool.request({ path, method: 'GET', headers: { 'x-api-key': KEY } });
    const body = await res.body.json();
    if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}: ${JSON.stringify(body)}`);
    return body;
  };
  const get = async (query: string): Promise<{ nextCursor: string | null }> => (await fetchJson(`${PATH}?${query}`)).data;
  await merkleLogCaughtUp(pool, records);
  // A filter the store must scan for can take a second per page at 1,000,000 records: each is sampled for at most
  // SAMPLE_BUDGET_MS (at least 10 times), and its p99 is that of the samples taken.
  const serverCpuUs: Record<string, number> = {};
  const medianMs: Record<string, number> = {};
  const p99Of = async (path: string, name: string): Promise<number> => {
    for (let i = 0; i < 3; i++) await fetchJson(path);
    const times: number[] = [];
    const cpuBefore = processCpuSeconds(proxy.child.pid);
    const deadline = performance.now() + SAMPLE_BUDGET_MS;
    for (let i = 0; i < runs && (i < 10 || performance.now() < deadline); i++) {
      const started = performance.now();
      await fetchJson(path);
      times.push(performance.now() - started);
    }
    serverCpuUs[name] = Math.round((processCpuSeconds(proxy.child.pid) - cpuBefore) * 1e6 / times.length);
    times.sort((a, b) => a - b);
    const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(times.length * q))]! * 100) / 100;
    medianMs[name] = at(0.5);
    return at(0.99);
  };
  const p99 = (query: string, name: string) => p99Of(`${PATH}?${query}`, name);
  try {
    // org-3 has api-key traffic only; org-4 holds the service-account traffic (see bench/store.ts). Each of the 20
    // organizations holds 1/20 of the records: 10,000 deep at 1,000,000, less in a quick run.
    const depth = Math.min(10_000, records / 20 - 20);
    const deep = (await get(`organizationId=org-3&limit=20&offset=${depth - 20}`)).nextCursor!;
    const firstPageP99Ms: Record<string, number> = {};
    for (const [name, query] of Object.entries(requestsFilters(records))) firstPageP99Ms[`api-keys/requests ${name}`] = await p99(query, `api-keys/requests ${name}`);
    const totalP99Ms: ApiFigures['totalP99Ms'] = {};
    for (const [name, query] of Object.entries(logsFilters(records))) {
      const { total } = await fetchJson(`${LOGS}?${query}`) as { total: number };
      totalP99Ms[name] = { ms: await p99Of(`${LOGS}?${query}`, `audit-logs ${name}`), total };
    }
    const cursorPageDeepP99Ms = await p99(`organizationId=org-3&cursor=${encodeURIComponent(deep)}`, 'cursor');
    return { records, firstPageP99Ms, totalP99Ms, cursorDepth: depth, cursorPageDeepP99Ms, serverCpuUs, medianMs };
  } finally {
    await pool.close();
    await proxy.stop();
  }
}
