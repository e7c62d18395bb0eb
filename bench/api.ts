// Issue 5 over HTTP: GET /v1/api-keys/requests against a store of 1,000,000 records (100,000 with --quick), through
// the audit-proxy CLI, end to end (request to parsed JSON body) over one keep-alive connection.
import { mkdtempSync, rmSync } from 'node:fs';
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
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

export interface ApiFigures {
  records: number;
  firstPageOrgP99Ms: number;
  firstPageOrgApiKeyP99Ms: number;
  firstPageOrgServiceAccountP99Ms: number;
  cursorDepth: number;
  cursorPageDeepP99Ms: number;
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

async function measure(dir: string, records: number, runs: number): Promise<ApiFigures> {
  const port = await freePort();
  const keys = `[{id: bench-reader, sha256: "${sha256(KEY).toString('hex')}", organizationId: org-3, scopes: ["audit:read:all"]}]`;
  const env = { ...process.env, AUDIT_PROXY__AUTH__KEYS: keys, AUDIT_PROXY__STORE__RETENTION__MAX_AGE_DAYS: '0', AUDIT_PROXY__LOG__REQUESTS: 'false' };
  const args = [CLI, 'serve', '--upstream', 'http://127.0.0.1:9', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dir];
  const proxy = await startServer(process.execPath, args, port, { env });
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  const get = async (query: string): Promise<{ nextCursor: string | null }> => {
    const res = await pool.request({ path: `${PATH}?${query}`, method: 'GET', headers: { 'x-api-key': KEY } });
    const body = (await res.body.json()) as { data: { nextCursor: string | null } };
    if (res.statusCode !== 200) throw new Error(`${PATH}?${query} answered ${res.statusCode}: ${JSON.stringify(body)}`);
    return body.data;
  };
  const p99 = async (query: string): Promise<number> => {
    for (let i = 0; i < 10; i++) await get(query);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await get(query);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    return Math.round(times[Math.min(runs - 1, Math.floor(runs * 0.99))]! * 100) / 100;
  };
  try {
    // org-3 has api-key traffic only; org-4 holds the service-account traffic (see bench/store.ts). Each of the 20
    // organizations holds 1/20 of the records: 10,000 deep at 1,000,000, less in a quick run.
    const depth = Math.min(10_000, records / 20 - 20);
    const deep = (await get(`organizationId=org-3&limit=20&offset=${depth - 20}`)).nextCursor!;
    return {
      records,
      firstPageOrgP99Ms: await p99('organizationId=org-3'),
      firstPageOrgApiKeyP99Ms: await p99('organizationId=org-3&apiKeyId=org-3-key-3'),
      firstPageOrgServiceAccountP99Ms: await p99('organizationId=org-4&serviceAccountId=org-4-sa-4'),
      cursorDepth: depth,
      cursorPageDeepP99Ms: await p99(`organizationId=org-3&cursor=${encodeURIComponent(deep)}`),
    };
  } finally {
    await pool.close();
    await proxy.stop();
  }
}
