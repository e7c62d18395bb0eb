// Audit store benchmark: ingest rate with every index, query latencies over a large store, bytes per record.
// Standalone: `npx tsc -p . && node dist/bench/store.js [--quick] [--records N] [--proxy-request-ids]`.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import type { AuditRecord } from '../src/audit/record.js';
import { storeSchema } from '../src/config/sections/store.js';
import { openAuditStore, type LmdbAuditStore } from '../src/store/index.js';
import type { AuditFilter, PageRequest } from '../src/store/store.js';

const ORGS = 20;
const KEYS_PER_ORG = 10;
const ACCOUNTS_PER_ORG = 5;
const CHUNK = 5_000;
const START_MS = Date.parse('2026-11-01T00:00:00.000Z');

export interface StoreBenchOptions {
  records?: number;
  quick?: boolean;
  /** 'proxy': UUIDv7 request ids, as the proxy makes when a client sends none; default 'client' (`req-N`). */
  requestIds?: RequestIds;
}

export type RequestIds = 'client' | 'proxy';

export function benchRecord(i: number, requestIds: RequestIds = 'client'): AuditRecord {
  const ms = START_MS + Math.floor(i / 4);
  const org = `org-${i % ORGS}`;
  const byServiceAccount = i % 4 === 0;
  return {
    id: benchId(ms, i),
    requestId: requestIds === 'proxy' ? benchId(ms, i).replace('-7000-8000-', '-7000-9000-') : `req-${i}`, createdAt: new Date(ms).toISOString(), method: i % 5 === 0 ? 'POST' : 'GET',
    path: `/v1/items/${i % 1000}`, query: {}, routePattern: '/v1/items/:id', resourceType: 'item', action: 'read',
    statusCode: i % 50 === 0 ? 500 : 200, outcome: 'completed', durationMs: 12.3, ttfbMs: 11.9,
    requestBytes: 0, responseBytes: 1_234, clientIp: '203.0.113.7', country: 'NL', userAgent: 'bench/1.0',
    principalType: byServiceAccount ? 'service_account' : 'api_key', principalId: `p-${i % 200}`,
    apiKeyId: byServiceAccount ? null : `${org}-key-${i % KEYS_PER_ORG}`,
    serviceAccountId: byServiceAccount ? `${org}-sa-${i % ACCOUNTS_PER_ORG}` : null,
    userId: null, organizationId: org, workspaceId: `${org}-ws`, authError: null,
    requestHeaders: { host: 'api.example.com', accept: 'application/json', authorization: 'Bearer …f00d' },
    requestBody: null, requestBodyTruncated: false, responseBody: null, upstream: 'http://127.0.0.1:9000',
  };
}

/** A UUIDv7-shaped id (what the proxy gives records): ms in its first 48 bits, i in its last 48. */
function benchId(ms: number, i: number): string {
  const time = ms.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7000-8000-${i.toString(16).padStart(12, '0')}`;
}

/** Records per second (what the other benches need). */
export async function ingest(store: LmdbAuditStore, records: number): Promise<number> {
  return (await ingestMeasured(store, records)).perSec;
}

/** Records per second, CPU µs per record of the whole process (all threads) and of the main thread's event loop. */
export async function ingestMeasured(store: LmdbAuditStore, records: number, requestIds: RequestIds = 'client'): Promise<{ perSec: number; cpuUs: number; mainThreadUs: number }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  for (let i = 0; i < records; i += CHUNK) {
    for (let j = i; j < Math.min(records, i + CHUNK); j++) store.append(benchRecord(j, requestIds));
    // Wait for the writer when far behind (waiting, not spinning: the writer thread needs the CPU).
    if (store.health().queueDepth > 4 * CHUNK) await store.flush();
  }
  await store.flush();
  const used = process.cpuUsage(cpu);
  return {
    perSec: records / ((performance.now() - started) / 1000),
    cpuUs: (used.user + used.system) / records,
    mainThreadUs: (performance.eventLoopUtilization(loop).active * 1000) / records,
  };
}

async function p99(store: LmdbAuditStore, filter: AuditFilter, page: PageRequest, runs: number): Promise<number> {
  const times: number[] = [];
  for (let warmup = 0; warmup < 10; warmup++) await store.query(filter, page);
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    await store.query(filter, page);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.min(times.length - 1, Math.floor(runs * 0.99))]!;
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));

export async function runStoreBench({ records, quick = false, requestIds = 'client' }: StoreBenchOptions = {}): Promise<Record<string, number>> {
  const count = records ?? (quick ? 100_000 : 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'audit-store-bench-'));
  const config = storeSchema.parse({ path: dir, queueMax: 50_000, retention: { maxAgeDays: 0 } });
  const store = openAuditStore(config, pino({ level: 'warn' }));
  try {
    const ingested = await ingestMeasured(store, count, requestIds);
    const late = benchRecord(count - 17, requestIds);
    const org = { organizationId: 'org-3' };
    const runs = quick ? 100 : 300;
    // org-3 has api-key traffic only; org-4 holds the service-account traffic.
    const deep = (await store.query(org, { limit: 20, offset: 9_980 })).nextCursor!;
    const figures = {
      records: count,
      ingestPerSec: Math.round(ingested.perSec),
      ingestCpuUsPerRecord: round(ingested.cpuUs),
      ingestMainThreadUsPerRecord: round(ingested.mainThreadUs),
      firstPageOrgP99Ms: round(await p99(store, org, { limit: 20 }, runs)),
      firstPageOrgApiKeyP99Ms: round(await p99(store, { ...org, apiKeyId: 'org-3-key-3' }, { limit: 20 }, runs)),
      firstPageOrgServiceAccountP99Ms: round(await p99(store, { organizationId: 'org-4', serviceAccountId: 'org-4-sa-4' }, { limit: 20 }, runs)),
      firstPageOrgRequestIdP99Ms: round(await p99(store, { organizationId: late.organizationId!, requestId: late.requestId }, { limit: 20 }, runs)),
      cursorPage10kDeepP99Ms: round(await p99(store, org, { limit: 20, cursor: deep }, runs)),
      totalCountOrgP99Ms: round(await p99(store, org, { limit: 20, withTotal: true }, quick ? 20 : 50)),
      totalCountOrgApiKeyP99Ms: round(await p99(store, { ...org, apiKeyId: 'org-3-key-3' }, { limit: 20, withTotal: true }, quick ? 20 : 50)),
      bytesOnDiskPerRecord: Math.round(statSync(join(dir, 'data.mdb')).size / count),
    };
    return figures;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const TARGETS: Record<string, string> = {
  ingestPerSec: '>= 300000 records/s',
  ingestMainThreadUsPerRecord: 'the request thread\'s share',
  firstPageOrgP99Ms: '<= 3 ms',
  firstPageOrgApiKeyP99Ms: '<= 3 ms',
  firstPageOrgServiceAccountP99Ms: '<= 3 ms',
  firstPageOrgRequestIdP99Ms: '<= 3 ms',
  cursorPage10kDeepP99Ms: '<= 3 ms',
  totalCountOrgP99Ms: '<= 20 ms',
  totalCountOrgApiKeyP99Ms: '<= 20 ms',
  bytesOnDiskPerRecord: '<= 400',
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const recordsFlag = args.indexOf('--records');
  const figures = await runStoreBench({
    quick: args.includes('--quick'),
    requestIds: args.includes('--proxy-request-ids') ? 'proxy' : 'client',
    ...(recordsFlag >= 0 ? { records: Number(args[recordsFlag + 1]) } : {}),
  });
  for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(34)} ${String(value).padStart(10)}   target ${TARGETS[name] ?? '-'}`);
}
