// `npm run bench [-- --quick]`: every measurement of the
// performance issue in one run; prints one table (figure beside target) and writes bench/results/latest.json.
// A measurement, not a test: exits 0 whatever the figures. For experiments: --no-pin, --only http,threads,store,api,stats,reads,memory,principal,chain,fleet,kill,
// --contenders 'audit-proxy off,audit-proxy on', --loads 'GET c50', --rounds N, --seconds S.
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runApiBench } from './api.js';
import { runChainBench } from './chain.js';
import { runAuditReadsBench } from './audit-reads.js';
import { runHttpBench } from './http.js';
import { httpRows } from './http-report.js';
import { runMemoryBench } from './memory.js';
import { runPrincipalBench } from './principal.js';
import { printTable, row, type Row } from './lib/report.js';
import { runStatsBench } from './stats.js';
import { runStoreBench } from './store.js';
import { runFleetBench } from './fleet.js';
import { LOSS_BOUND_MS, runKillBench, type KillLoad } from './kill.js';
import { runThreadsBench, THREAD_GROUPS } from './threads.js';

const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const MIB_64 = { op: '<=', bound: 64 } as const;

interface Flags {
  quick: boolean;
  pin: boolean;
  only: Set<string>;
  contenders: string[] | undefined;
  rounds: number | undefined;
  seconds: number | undefined;
  loads: string[] | undefined;
}

function parseFlags(argv: string[]): Flags {
  const value = (flag: string): string | undefined => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const number = (flag: string): number | undefined => (value(flag) === undefined ? undefined : Number(value(flag)));
  return {
    quick: argv.includes('--quick'),
    pin: !argv.includes('--no-pin'),
    only: new Set(value('--only')?.split(',') ?? ['http', 'threads', 'store', 'api', 'stats', 'reads', 'memory', 'principal', 'chain', 'fleet', 'kill']),
    contenders: value('--contenders')?.split(','),
    rounds: number('--rounds'),
    seconds: number('--seconds'),
    loads: value('--loads')?.split(','),
  };
}

async function storeRows(quick: boolean): Promise<Row[]> {
  const f = await runStoreBench({ quick });
  const section = `Store (${f.records.toLocaleString('en-US')} records, through the store API)`;
  const atMost = (bound: number) => ({ op: '<=' as const, bound });
  const latency: [string, number, number][] = [
    ['first page, organization p99', f.firstPageOrgP99Ms, 3],
    ['first page, organization + apiKeyId p99', f.firstPageOrgApiKeyP99Ms, 3],
    ['first page, organization + serviceAccountId p99', f.firstPageOrgServiceAccountP99Ms, 3],
    ['cursor page 10,000 deep p99', f.cursorPage10kDeepP99Ms, 3],
    ['total count, organization p99', f.totalCountOrgP99Ms, 20],
    ['total count, organization + apiKeyId p99', f.totalCountOrgApiKeyP99Ms, 20],
  ];
  return [
    row(section, 'ingest, every index', f.ingestPerSec, 'records/s', { op: '>=', bound: 300_000 }),
    ...latency.map(([name, value, bound]) => row(section, name, value, 'ms', atMost(bound))),
    row(section, 'bytes on disk per record', f.bytesOnDiskPerRecord, 'bytes', { op: '<=', bound: 400 }),
  ];
}

async function fleetRows(quick: boolean): Promise<Row[]> {
  const f = await runFleetBench({ quick });
  const section = `Fleet sink, PostgreSQL 15 on this machine (fsync on; ${f.tableRecords.toLocaleString('en-US')} records for reads)`;
  return [
    row(section, `shipping from one proxy (${f.shippedRecords.toLocaleString('en-US')} records)`, f.shipPerSec, 'records/s', { op: '>=', bound: 25_000 }),
    row(section, 'shipping CPU per record, shipping process', f.shipNodeCpuUs, 'µs'),
    row(section, 'shipping CPU per record, PostgreSQL (all its processes)', f.shipPostgresCpuUs, 'µs'),
    row(section, 'verify --fleet, records rehashed from PostgreSQL', f.verifyPerSec, 'records/s'),
    row(section, `delivery lag p99 at 5,000 records/s for ${f.lagSeconds} s`, f.lagP99Ms, 'ms', { op: '<=', bound: 2_000 }),
    ...Object.entries(f.firstPageP99Ms).map(([name, ms]) => row(section, `first page, ${name} p99`, ms, 'ms', { op: '<=', bound: 10 })),
    ...Object.entries(f.firstPageMedianMs).map(([name, ms]) => row(section, `first page, ${name} median`, ms, 'ms')),
    ...Object.entries(f.totalP99Ms).map(([name, { ms, total }]) => row(section, `first page + total, ${name} (${total.toLocaleString('en-US')} matches) p99`, ms, 'ms')),
    row(section, 'cursor page 10,000 deep p99', f.cursorDeepP99Ms, 'ms', { op: '<=', bound: 10 }),
    row(section, 'first page + total, organization p99', f.countOrgP99Ms, 'ms'),
    row(section, 'first page + total, organization + apiKeyId p99', f.countOrgApiKeyP99Ms, 'ms'),
    row(section, 'bytes on disk per record (table + indexes)', f.bytesPerRecord, 'bytes'),
    row(section, 'stored bytes shipped per record (for verify --fleet; add to the above)', f.storedBytesPerRecord, 'bytes'),
  ];
}

async function apiRows(quick: boolean): Promise<Row[]> {
  const f = await runApiBench(quick);
  const section = `Audit endpoints over HTTP (${f.records.toLocaleString('en-US')} records, end to end, one keep-alive connection)`;
  return [
    ...Object.entries(f.firstPageP99Ms).map(([name, ms]) => row(section, `first page, ${name} p99`, ms, 'ms', { op: '<=', bound: 3 })),
    row(section, `cursor page ${f.cursorDepth.toLocaleString('en-US')} deep p99`, f.cursorPageDeepP99Ms, 'ms', { op: '<=', bound: 3 }),
    ...Object.entries(f.totalP99Ms).map(([name, { ms, total }]) =>
      row(section, `audit-logs page + total, ${name} (${total.toLocaleString('en-US')} matches) p99`, ms, 'ms', { op: '<=', bound: 20 })),
    ...Object.entries(f.medianMs).map(([name, ms]) => row(section, `median, ${name}`, ms, 'ms')),
    ...Object.entries(f.serverCpuUs).map(([name, us]) => row(section, `server CPU per request (all threads), ${name}`, us, 'µs')),
  ];
}

async function statsRows(quick: boolean): Promise<Row[]> {
  const f = await runStatsBench(quick);
  const section = `Stats endpoint over HTTP, GET /v1/audit-logs/stats (${f.records.toLocaleString('en-US')} records in 24 h, end to end)`;
  return [
    row(section, '24 h, every organization (15 min buckets) p99', f.allOrgs24hP99Ms, 'ms', { op: '<=', bound: 50 }),
    row(section, '24 h, one organization, 1,440 one-minute buckets p99', f.oneOrg24hMinuteBucketsP99Ms, 'ms', { op: '<=', bound: 50 }),
    row(section, '1 h, one organization p99', f.oneOrg1hP99Ms, 'ms', { op: '<=', bound: 50 }),
    row(section, '1 h, one organization + method (scan fallback) p99', f.scanFallback1hP99Ms, 'ms'),
    row(section, 'GET /v1/audit-logs/records, first 50 of one organization (the viewer\'s first table) p99', f.recordsFirstPageP99Ms, 'ms'),
    row(section, '24 h, every organization: server CPU per query', f.allOrgs24hCpuMs, 'ms'),
    row(section, '24 h, 1,440 buckets: server CPU per query', f.oneOrg24hMinuteBucketsCpuMs, 'ms'),
    row(section, '1 h + method (scan fallback): server CPU per query', f.scanFallback1hCpuMs, 'ms'),
  ];
}

async function auditReadsRows(quick: boolean): Promise<Row[]> {
  const f = await runAuditReadsBench(quick);
  const section = `Proxied GET beside heavy audit queries (${f.records.toLocaleString('en-US')} records, reader threads)`;
  const heavy = Object.entries(f.heavyByStatus).map(([status, n]) => `${n} x ${status}`).join(', ');
  return [
    row(section, `p50, no audit query (${f.quiet.gets} GETs)`, f.quiet.p50Ms, 'ms'),
    row(section, 'p99, no audit query', f.quiet.p99Ms, 'ms'),
    row(section, `p50, 4 heavy audit queries running (${f.busy.gets} GETs; heavy answers: ${heavy})`, f.busy.p50Ms, 'ms'),
    row(section, 'p99, 4 heavy audit queries running', f.busy.p99Ms, 'ms'),
    row(section, 'p99 ratio, busy / quiet', Math.round((f.busy.p99Ms / f.quiet.p99Ms) * 100) / 100, 'x', { op: '<=', bound: 2 }),
  ];
}

async function memoryRows(): Promise<Row[]> {
  const f = await runMemoryBench();
  const section = 'Memory (audit-proxy, auditing + request log on, 1 GiB body each way)';
  return [
    row(section, 'RSS before', f.baselineRssMiB, 'MiB'),
    row(section, 'RSS growth, 1 GiB upload', f.uploadGrowthMiB, 'MiB', MIB_64),
    row(section, 'RSS growth, 1 GiB download', f.downloadGrowthMiB, 'MiB', MIB_64),
    row(section, 'upload throughput', f.uploadMiBps, 'MiB/s'),
    row(section, 'download throughput', f.downloadMiBps, 'MiB/s'),
  ];
}

async function chainRows(quick: boolean): Promise<Row[]> {
  const f = await runChainBench(quick);
  const section = `Merkle log (${f.records.toLocaleString('en-US')} records, through the store API, side by side)`;
  return [
    row(section, 'store ingest, log off', f.ingestOffPerSec, 'records/s'),
    row(section, 'store ingest, log on (its own thread)', f.ingestOnPerSec, 'records/s', { op: '>=', bound: Math.round(0.95 * f.ingestOffPerSec) }),
    row(section, 'main thread CPU per record, log off', f.mainThreadOffUs, 'µs'),
    row(section, 'main thread CPU per record, log on', f.mainThreadOnUs, 'µs'),
    row(section, 'process CPU per record, log off', f.processOffUs, 'µs'),
    row(section, 'process CPU per record, log on', f.processOnUs, 'µs'),
    row(section, 'log CPU per record (follower alone)', f.followerUsPerRecord, 'µs'),
    row(section, 'verify', f.verifyPerSec, 'records/s', { op: '>=', bound: 200_000 }),
    row(section, 'verify per CPU second', f.verifyPerCpuSec, 'records/s', { op: '>=', bound: 200_000 }),
    row(section, 'verify in one thread', f.verifyOneThreadPerSec, 'records/s'),
    row(section, 'verify in one thread per CPU second', f.verifyOneThreadPerCpuSec, 'records/s'),
  ];
}

async function killRows(quick: boolean): Promise<Row[]> {
  return [...await killLoadRows(quick, 'GET'), ...await killLoadRows(quick, 'POST')];
}

async function killLoadRows(quick: boolean, load: KillLoad): Promise<Row[]> {
  const f = await runKillBench({ quick, load });
  const what = load === 'GET' ? 'GET' : '16 KiB JSON POST, each body new and stored apart';
  const section = `kill -9 under load (${what}, 50 connections, ${f.kills} kills at random moments, ${f.answered.toLocaleString('en-US')} requests answered)`;
  return [
    row(section, 'records answered but not on disk after the kill (not yet committed)', f.lost, 'records'),
    row(section, 'loss window: the longest a lost record had been answered before the kill', f.lossWindowMs, 'ms'),
    row(section, `records lost that were answered more than ${LOSS_BOUND_MS} ms before the kill`, f.lostBeyondBound, 'records', { op: '<=', bound: 0 }),
    ...load === 'POST' ? [row(section, 'records kept without their body, or with another', f.wrongBodies, 'records', { op: '<=', bound: 0 })] : [],
  ];
}

async function threadRows(quick: boolean, notes: string[]): Promise<Row[]> {
  const results = await runThreadsBench({ quick });
  if (!results) {
    notes.push('per-thread figures skipped: wrk or taskset is not available');
    return [];
  }
  return Object.entries(results).flatMap(([load, { off, on }]) => {
    const section = `Recording's CPU by thread, ${load}, 1 worker (its traffic thread alone on CPU 0, its other threads on CPU 1 with wrk and the upstream)`;
    const main = THREAD_GROUPS[0];
    return [
      row(section, 'req/s, recording off', off.rps, 'req/s'),
      row(section, 'req/s, recording on', on.rps, 'req/s'),
      row(section, 'on / off', on.rps / off.rps, 'x'),
      row(section, 'CPU added by auditing, all threads', on.totalUs - off.totalUs, 'µs'),
      row(section, `CPU added by auditing, ${main}`, on.byThread[main]! - off.byThread[main]!, 'µs'),
      ...THREAD_GROUPS.flatMap((group) => [
        row(section, `${group}, recording off`, off.byThread[group]!, 'µs'),
        row(section, `${group}, recording on`, on.byThread[group]!, 'µs'),
      ]),
    ];
  });
}

async function principalRows(): Promise<Row[]> {
  const figures = await runPrincipalBench();
  return Object.entries(figures).flatMap(([name, f]) => [
    row('Principal resolution per request', `${name} median`, f.medianUs, 'µs', { op: '<=', bound: f.targetUs }),
    row('Principal resolution per request', `${name} p99`, f.p99Us, 'µs'),
  ]);
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const started = Date.now();
  const rows: Row[] = [];
  const notes: string[] = ['GET /v1/api-keys/requests returns no total: totals over HTTP are measured through GET /v1/audit-logs, which answers one with every page'];
  const scenario = async (name: string, run: () => Promise<Row[]>): Promise<void> => {
    if (!flags.only.has(name)) return;
    try {
      rows.push(...(await run()));
    } catch (error) {
      notes.push(`${name} failed: ${(error as Error).message}`);
    }
  };
  await scenario('http', async () => {
    const out = await runHttpBench(flags);
    if (!out) {
      notes.push('HTTP scenarios skipped: wrk is not available');
      return [];
    }
    notes.push(...out.notes);
    return httpRows(out);
  });
  await scenario('threads', () => threadRows(flags.quick, notes));
  await scenario('store', () => storeRows(flags.quick));
  await scenario('api', () => apiRows(flags.quick));
  await scenario('stats', () => statsRows(flags.quick));
  await scenario('reads', () => auditReadsRows(flags.quick));
  await scenario('memory', memoryRows);
  await scenario('principal', principalRows);
  await scenario('chain', () => chainRows(flags.quick));
  await scenario('fleet', () => fleetRows(flags.quick));
  await scenario('kill', () => killRows(flags.quick));
  printTable(rows);
  for (const note of notes) console.log(`note: ${note}`);
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memGiB: Math.round(totalmem() / 1024 ** 3), node: process.version };
  const result = { date: new Date().toISOString(), quick: flags.quick, pinned: flags.pin, seconds: (Date.now() - started) / 1000, machine, notes, rows };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(`${RESULTS}latest.json`, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\n${rows.length} figures in ${result.seconds.toFixed(0)} s; written to bench/results/latest.json`);
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  process.exit(0);
});
