// `npm run bench [-- --quick]`: every measurement of the
// performance issue in one run; prints one table (figure beside target) and writes bench/results/latest.json.
// A measurement, not a test: exits 0 whatever the figures. For experiments: --no-pin, --only http,store,api,memory,principal,fleet,
// --contenders 'audit-proxy off,audit-proxy on', --loads 'GET c50', --rounds N, --seconds S.
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runApiBench } from './api.js';
import { runHttpBench } from './http.js';
import { httpRows } from './http-report.js';
import { runMemoryBench } from './memory.js';
import { runPrincipalBench } from './principal.js';
import { printTable, row, type Row } from './lib/report.js';
import { runStoreBench } from './store.js';
import { runFleetBench } from './fleet.js';

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
    only: new Set(value('--only')?.split(',') ?? ['http', 'store', 'api', 'memory', 'principal', 'fleet']),
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
    ['first page, organization p99', f.firstPageOrgP99Ms, 5],
    ['first page, organization + apiKeyId p99', f.firstPageOrgApiKeyP99Ms, 5],
    ['first page, organization + serviceAccountId p99', f.firstPageOrgServiceAccountP99Ms, 5],
    ['cursor page 10,000 deep p99', f.cursorPage10kDeepP99Ms, 10],
    ['total count, organization p99', f.totalCountOrgP99Ms, 20],
    ['total count, organization + apiKeyId p99', f.totalCountOrgApiKeyP99Ms, 20],
  ];
  return [
    row(section, 'ingest, every index', f.ingestPerSec, 'records/s', { op: '>=', bound: 200_000 }),
    ...latency.map(([name, value, bound]) => row(section, name, value, 'ms', atMost(bound))),
    row(section, 'bytes on disk per record', f.bytesOnDiskPerRecord, 'bytes'),
  ];
}

async function fleetRows(quick: boolean): Promise<Row[]> {
  const f = await runFleetBench({ quick });
  const section = `Fleet sink, PostgreSQL 15 on this machine (fsync on; ${f.tableRecords.toLocaleString('en-US')} records for reads)`;
  return [
    row(section, `shipping from one proxy (${f.shippedRecords.toLocaleString('en-US')} records)`, f.shipPerSec, 'records/s', { op: '>=', bound: 25_000 }),
    row(section, `delivery lag p99 at 5,000 records/s for ${f.lagSeconds} s`, f.lagP99Ms, 'ms', { op: '<=', bound: 2_000 }),
    ...Object.entries(f.firstPageP99Ms).map(([name, ms]) => row(section, `first page, ${name} p99`, ms, 'ms', { op: '<=', bound: 10 })),
    row(section, 'cursor page 10,000 deep p99', f.cursorDeepP99Ms, 'ms', { op: '<=', bound: 10 }),
    row(section, 'first page + total, organization p99', f.countOrgP99Ms, 'ms'),
    row(section, 'first page + total, organization + apiKeyId p99', f.countOrgApiKeyP99Ms, 'ms'),
    row(section, 'bytes on disk per record (table + indexes)', f.bytesPerRecord, 'bytes'),
  ];
}

async function apiRows(quick: boolean): Promise<Row[]> {
  const f = await runApiBench(quick);
  const section = `Audit endpoint over HTTP, GET /v1/api-keys/requests (${f.records.toLocaleString('en-US')} records, end to end)`;
  return [
    row(section, 'first page, organization p99', f.firstPageOrgP99Ms, 'ms', { op: '<=', bound: 5 }),
    row(section, 'first page, organization + apiKeyId p99', f.firstPageOrgApiKeyP99Ms, 'ms', { op: '<=', bound: 5 }),
    row(section, 'first page, organization + serviceAccountId p99', f.firstPageOrgServiceAccountP99Ms, 'ms', { op: '<=', bound: 5 }),
    row(section, `cursor page ${f.cursorDepth.toLocaleString('en-US')} deep p99`, f.cursorPageDeepP99Ms, 'ms', { op: '<=', bound: 10 }),
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
  const notes: string[] = ['issue 5: GET /v1/api-keys/requests returns no total; the total count is measured through the store API'];
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
  await scenario('store', () => storeRows(flags.quick));
  await scenario('api', () => apiRows(flags.quick));
  await scenario('memory', memoryRows);
  await scenario('principal', principalRows);
  await scenario('fleet', () => fleetRows(flags.quick));
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
