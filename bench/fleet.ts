// Fleet sink benchmark against a local PostgreSQL 15 (a throwaway cluster, fsync on): shipping rate from one proxy's
// store, delivery lag under a steady 5,000 records/s, first-page and count latencies over a large table.
// Standalone: `npx tsc -p . && node dist/bench/fleet.js [--quick] [--records N]`.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { parseConfig } from '../src/config/load.js';
import { openFleet, openFleetReader } from '../src/fleet/fleet.js';
import { connectionConfig } from '../src/fleet/connection.js';
import { PostgresSink } from '../src/fleet/postgres-sink.js';
import { verifyFleet } from '../src/fleet/verify.js';
import { generateSignerKey, parseSignerKey } from '../src/chain/note.js';
import { FLEET_FOLLOWER, Shipper } from '../src/fleet/shipper.js';
import { openAuditStore } from '../src/store/index.js';
import type { AuditFilter, PageRequest } from '../src/store/store.js';
import { encodeAll } from '../test/helpers/fleet.js';
import { startTestPostgres } from '../test/helpers/postgres.js';
import { benchRecord } from './store.js';
import { bulkGenerate } from './fleet-load.js';

const LOAD_RATE = 5_000;
/** The bulk rows for reads span this many days up to now (today's partition holds the newest). */
const BULK_DAYS = 7;
const SAMPLE_MS = 4_000;
const logger = pino({ level: 'warn' });

export interface FleetBenchOptions {
  quick?: boolean;
  records?: number;
}

export interface FleetFigures {
  shippedRecords: number;
  shipPerSec: number;
  /** CPU per shipped record: the shipping process, and every process of the PostgreSQL cluster. */
  shipNodeCpuUs: number;
  shipPostgresCpuUs: number;
  /** Records per second `verify --fleet` rehashes from PostgreSQL (the shipped records, one node). */
  verifyPerSec: number;
  lagSeconds: number;
  lagP99Ms: number;
  lagMaxMs: number;
  tableRecords: number;
  bytesPerRecord: number;
  /** Average size of a shipped record's stored bytes (the bulk-loaded rows carry none, so add this to bytesPerRecord). */
  storedBytesPerRecord: number;
  /** Seconds to generate the bulk rows in PostgreSQL, build their keys and analyze them. */
  loadSeconds: number;
  /** Filter name -> p99 ms of the first page (20 newest). */
  firstPageP99Ms: Record<string, number>;
  /** Filter name -> median ms of the same first pages (a p99 far above it is the machine's tail, not the query). */
  firstPageMedianMs: Record<string, number>;
  /** Filter name -> p99 ms of the first page with its total, and that total. */
  totalP99Ms: Record<string, { ms: number; total: number }>;
  cursorDeepP99Ms: number;
  countOrgP99Ms: number;
  countOrgApiKeyP99Ms: number;
}

export async function runFleetBench({ quick = false, records }: FleetBenchOptions = {}): Promise<FleetFigures> {
  const postgres = await startTestPostgres({ durable: true });
  const dir = mkdtempSync(join(tmpdir(), 'audit-fleet-bench-'));
  try {
    const url = await postgres.database();
    const shipCount = quick ? 50_000 : 200_000;
    const shipping = await shippingRate(dir, url, shipCount, postgres.port);
    const verifyPerSec = await verifyRate(url);
    const lag = await lagUnderLoad(join(dir, 'lag'), url, quick ? 5 : 10);
    const tableRecords = records ?? (quick ? 300_000 : 5_000_000);
    const { bytesPerRecord, storedBytesPerRecord, loadSeconds } = await bulkLoad(url, shipCount, tableRecords);
    const latency = await readLatency(url, quick ? 50 : 200);
    return { shippedRecords: shipCount, ...shipping, verifyPerSec, ...lag, tableRecords, bytesPerRecord, storedBytesPerRecord, loadSeconds, ...latency };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await postgres.close();
  }
}

function fleetConfig(dataDir: string, url: string) {
  return parseConfig({
    upstream: { url: 'http://127.0.0.1:9' }, store: { path: dataDir, queueMax: 50_000, retention: { maxAgeDays: 0 } },
    fleet: { postgres: { url }, nodeId: 'bench', idleMs: 20, retentionDays: 0 },
  });
}

/** Records committed to LMDB first, then shipped from a standing start: the rate of catching up. */
async function shippingRate(dir: string, url: string, count: number, port: number): Promise<{ shipPerSec: number; shipNodeCpuUs: number; shipPostgresCpuUs: number }> {
  const config = fleetConfig(join(dir, 'ship'), url);
  const local = openAuditStore(config.store, logger);
  for (let i = 0; i < count; i++) {
    local.append(benchRecord(i));
    if (local.health().queueDepth > 40_000) await local.flush();
  }
  await local.flush();
  // Schema and partitions first, so the figure is shipping alone.
  const sink = new PostgresSink({ connection: { connectionString: url }, nodeId: 'bench', partitionsAheadDays: 1, retentionDays: 0 }, logger);
  await sink.prepare();
  await sink.write([benchRecord(0)], encodeAll(sink, [benchRecord(0)]));
  await sink.close();
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const postgresBefore = clusterCpuUs(port);
  const fleet = openFleet(config, local, logger, { ships: true, registry: new Registry() });
  await until(() => fleet.shipper!.position() >= local.lastSeq());
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const postgresUs = clusterCpuUs(port) - postgresBefore;
  await fleet.store.close();
  return {
    shipPerSec: Math.round(count / seconds),
    shipNodeCpuUs: Math.round((cpu.user + cpu.system) / count),
    shipPostgresCpuUs: Math.round(postgresUs / count),
  };
}

/** The shipped records rehashed in seq order by verify --fleet's walk (no checkpoints to compare: the hashing and the reading). */
async function verifyRate(url: string): Promise<number> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    const key = parseSignerKey(generateSignerKey('bench.example/log'));
    const started = performance.now();
    const report = await verifyFleet(client, { keyOf: () => key, problem: () => undefined, note: () => undefined });
    return Math.round(report.records / ((performance.now() - started) / 1000));
  } finally {
    await client.end();
  }
}

/** Records stamped now, appended at LOAD_RATE per second: arrival to PostgreSQL's acknowledgement, per record. */
async function lagUnderLoad(dataDir: string, url: string, seconds: number): Promise<{ lagSeconds: number; lagP99Ms: number; lagMaxMs: number }> {
  const config = fleetConfig(dataDir, url);
  const local = openAuditStore(config.store, logger);
  const delays: number[] = [];
  const { fleet } = config;
  const sink = new PostgresSink({ connection: connectionConfig(fleet), nodeId: 'lag', partitionsAheadDays: 1, retentionDays: 0 }, logger);
  const shipper = new Shipper(local, sink, {
    batchRows: fleet.batchRows, batchBytes: fleet.batchBytes, retryMinMs: fleet.retryMinMs, retryMaxMs: fleet.retryMaxMs,
    idleMs: fleet.idleMs, maintainEveryMs: 3_600_000,
    onShipped: (batch, ackedAtMs) => batch.forEach((record) => delays.push(ackedAtMs - Date.parse(record.createdAt))),
  }, logger);
  local.pin(FLEET_FOLLOWER);
  shipper.start();
  await until(() => shipper.state === 'shipping');
  let seq = 10_000_000;
  const started = Date.now();
  const tickMs = 20;
  while (Date.now() - started < seconds * 1000) {
    const now = Date.now();
    for (let i = 0; i < (LOAD_RATE * tickMs) / 1000; i++) local.append({ ...benchRecord(seq++), createdAt: new Date(now).toISOString() });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, tickMs - (Date.now() - now))));
  }
  await local.flush();
  await until(() => shipper.position() >= local.lastSeq());
  await shipper.stop();
  await local.close();
  return { lagSeconds: seconds, lagP99Ms: percentile(delays, 0.99), lagMaxMs: percentile(delays, 1) };
}

/**
 * Fills the table to `to` records with rows generated in PostgreSQL over the last BULK_DAYS days (fleet-load.ts);
 * resolves with bytes on disk per record (table and keys) and the seconds the load took.
 */
async function bulkLoad(url: string, from: number, to: number): Promise<{ bytesPerRecord: number; storedBytesPerRecord: number; loadSeconds: number }> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    const started = performance.now();
    await bulkGenerate(client, to - from, Date.now(), BULK_DAYS);
    await client.query('VACUUM ANALYZE audit_records');
    await client.query('VACUUM ANALYZE audit_value_buckets');
    const loadSeconds = Math.round((performance.now() - started) / 1000);
    const { rows } = await client.query<{ bytes: string }>("SELECT sum(pg_total_relation_size(inhrelid)) AS bytes FROM pg_inherits WHERE inhparent = 'audit_records'::regclass");
    const stored = await client.query<{ bytes: string }>('SELECT avg(pg_column_size(stored)) AS bytes FROM audit_records WHERE stored IS NOT NULL');
    return { bytesPerRecord: Math.round(Number(rows[0]!.bytes) / to), storedBytesPerRecord: Math.round(Number(stored.rows[0]!.bytes)), loadSeconds };
  } finally {
    await client.end();
  }
}

async function readLatency(url: string, runs: number): Promise<Omit<FleetFigures, 'shippedRecords' | 'shipPerSec' | 'shipNodeCpuUs' | 'shipPostgresCpuUs' | 'verifyPerSec' | 'lagSeconds' | 'lagP99Ms' | 'lagMaxMs' | 'tableRecords' | 'bytesPerRecord' | 'storedBytesPerRecord' | 'loadSeconds'>> {
  const fleet = fleetConfig('/nonexistent', url).fleet;
  const { reader, close } = openFleetReader(fleet, logger);
  try {
    const org = { organizationId: 'org-3' };
    const hourAgo = Date.now() - 3_600_000;
    // Values of the generated rows (fleet-load.ts), common and rare; org-3 has no POST at all (the worst case).
    const filters: Record<string, AuditFilter> = {
      'organization': org,
      'organization + apiKeyId': { ...org, apiKeyId: 'org-3-key-3' },
      'organization + serviceAccountId': { organizationId: 'org-4', serviceAccountId: 'org-4-sa-4' },
      'organization + userId': { ...org, userId: 'org-3-user-7' },
      'organization + requestId': { ...org, requestId: 'req-123463' },
      'organization + statusCode 500': { ...org, statusCode: 500 },
      'organization + statusCode 429 (rare)': { ...org, statusCode: 429 },
      'organization + method GET': { ...org, method: 'GET' },
      'organization + method DELETE (rare)': { ...org, method: 'DELETE' },
      'organization + method POST (no match, worst case)': { ...org, method: 'POST' },
      'organization + path': { ...org, path: '/v1/items/3' },
      'organization + principalType': { ...org, principalType: 'api_key' },
      'organization + workspaceId': { ...org, workspaceId: 'org-3-ws-1' },
      'organization + resourceType + action': { ...org, resourceType: 'item', action: 'read' },
      'organization + clientIp': { ...org, clientIp: '203.0.113.7' },
      'organization + country': { ...org, country: 'NL' },
      'organization + country IS (rare)': { ...org, country: 'IS' },
      'organization + time range (an hour)': { ...org, fromMs: hourAgo - 3_600_000, toMs: hourAgo },
      'every organization': {},
    };
    const firstPageP99Ms: Record<string, number> = {};
    const firstPageMedianMs: Record<string, number> = {};
    const totalP99Ms: Record<string, { ms: number; total: number }> = {};
    for (const [name, filter] of Object.entries(filters)) {
      const times = await timed(() => reader.query(filter, { limit: 20 }), runs);
      firstPageP99Ms[name] = percentile(times, 0.99);
      firstPageMedianMs[name] = percentile(times, 0.5);
      const total = (await reader.query(filter, { limit: 20, withTotal: true })).total!;
      totalP99Ms[name] = { ms: await p99(() => reader.query(filter, { limit: 20, withTotal: true }), Math.ceil(runs / 10), 1), total };
    }
    const deep = (await reader.query(org, { limit: 20, offset: 9_980 })).nextCursor!;
    const page = (filter: AuditFilter, request: PageRequest) => () => reader.query(filter, request);
    return {
      firstPageP99Ms,
      firstPageMedianMs,
      totalP99Ms,
      cursorDeepP99Ms: await p99(page(org, { limit: 20, cursor: deep }), runs),
      countOrgP99Ms: await p99(page(org, { limit: 20, withTotal: true }), Math.ceil(runs / 10)),
      countOrgApiKeyP99Ms: await p99(page({ ...org, apiKeyId: 'org-3-key-3' }, { limit: 20, withTotal: true }), Math.ceil(runs / 10)),
    };
  } finally {
    await close();
  }
}

/** CPU µs used so far by the postgres server listening on this port and its children (from /proc; Linux only). */
function clusterCpuUs(port: number): number {
  const stats = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map((pid) => {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return { pid: Number(pid), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]), cmdline };
    } catch {
      return null; // the process ended while listed
    }
  }).filter((stat) => stat !== null);
  const server = stats.find((stat) => /postgres\0/.test(stat.cmdline) && stat.cmdline.includes(`\0-p\0${port}\0`));
  if (!server) return 0;
  const ticks = stats.filter((stat) => stat.pid === server.pid || stat.ppid === server.pid).reduce((sum, stat) => sum + stat.ticks, 0);
  return ticks * (1_000_000 / CLOCK_TICKS_PER_SEC);
}

/** USER_HZ on Linux. */
const CLOCK_TICKS_PER_SEC = 100;

/** p99 of `runs` timed runs after warm-ups, sampling for at most SAMPLE_MS (a rare value's walk takes seconds). */
async function p99(run: () => Promise<unknown>, runs: number, warmups = 5): Promise<number> {
  return percentile(await timed(run, runs, warmups), 0.99);
}

/** Wall ms of up to `runs` runs after warm-ups, sampling for at most SAMPLE_MS (at least three). */
async function timed(run: () => Promise<unknown>, runs: number, warmups = 5): Promise<number[]> {
  const deadline = performance.now() + SAMPLE_MS;
  for (let i = 0; i < warmups && performance.now() < deadline; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < runs && (times.length < 3 || performance.now() < deadline); i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return times;
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Number(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!.toFixed(2));
}

async function until(check: () => boolean, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('fleet bench: condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Shipping alone, for A/B runs of the shipper (`--shipping-only [--records N]`): a fresh cluster, one catch-up. */
async function shippingOnly(count: number): Promise<{ shipPerSec: number; shipNodeCpuUs: number; shipPostgresCpuUs: number }> {
  const postgres = await startTestPostgres({ durable: true });
  const dir = mkdtempSync(join(tmpdir(), 'audit-fleet-bench-'));
  try {
    return await shippingRate(dir, await postgres.database(), count, postgres.port);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await postgres.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const recordsFlag = args.indexOf('--records');
  if (args.includes('--shipping-only')) {
    console.log(JSON.stringify(await shippingOnly(recordsFlag >= 0 ? Number(args[recordsFlag + 1]) : 200_000)));
    process.exit(0);
  }
  const figures = await runFleetBench({ quick: args.includes('--quick'), ...(recordsFlag >= 0 ? { records: Number(args[recordsFlag + 1]) } : {}) });
  console.log(JSON.stringify(figures, null, 2));
}
