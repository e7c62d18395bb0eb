// Merkle log benchmark: what the follower costs per record beside the store's own ingest (side by side, one run),
// and how fast `audit-proxy verify` checks a store. Standalone: `npx tsc -p . && node dist/bench/chain.js [--quick]`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { ChainFollower } from '../src/chain/follower.js';
import { FollowerThread } from '../src/chain/follower-thread.js';
import { nodeHash } from '../src/chain/merkle.js';
import { generateSignerKey, parseSignerKey } from '../src/chain/note.js';
import { TreeStore } from '../src/chain/tree-store.js';
import { verifyChain } from '../src/chain/verify.js';
import { storeSchema } from '../src/config/sections/store.js';
import type { Config } from '../src/config/schema.js';
import { openAuditStore, type LmdbAuditStore } from '../src/store/index.js';
import { ingest } from './store.js';

type StoreConfig = Config['store'];

export interface ChainFigures {
  records: number;
  /** Store ingest alone, and with the follower on its thread as the proxy runs it (best of interleaved rounds). */
  ingestOffPerSec: number;
  ingestOnPerSec: number;
  /** CPU per record of the main thread (the one that proxies traffic), log off and on. */
  mainThreadOffUs: number;
  mainThreadOnUs: number;
  /** CPU per record of the whole process (every thread), log off and on. */
  processOffUs: number;
  processOnUs: number;
  /** CPU time of the follower per record, measured alone: reading the log, hashing, tile and id writes. */
  followerUsPerRecord: number;
  /** Verify as the CLI runs it: the stored records hashed on threads (up to the machine's cores, at most 4). */
  verifyPerSec: number;
  /** Leaves verified per second of CPU time (steadier than wall time on a shared machine). */
  verifyPerCpuSec: number;
  /** Verify in one thread: wall and CPU, the cost per record without the threads' overhead. */
  verifyOneThreadPerSec: number;
  verifyOneThreadPerCpuSec: number;
  /** CPU µs of one SHA-256 of 65 bytes (an interior node) in the same run: how loaded the machine was. */
  nodeHashUs: number;
}

const logger = pino({ level: 'warn' });
const signer = parseSignerKey(generateSignerKey('bench.example/log'));

function openStore(): { store: LmdbAuditStore & { config: StoreConfig }; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'audit-chain-bench-'));
  const config = storeSchema.parse({ path: dir, queueMax: 50_000, retention: { maxAgeDays: 0 } });
  return { store: Object.assign(openAuditStore(config, logger), { config }), dir };
}

function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** CPU µs of this process's main thread (utime + stime of its task, in clock ticks of 10 ms). */
function mainThreadUs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

interface IngestRun {
  perSec: number;
  mainUs: number;
  processUs: number;
}

/** Ingest with the log off, or on with its follower thread polling as in the proxy (its closing not in records/s). */
async function ingestRound(records: number, withLog: boolean): Promise<IngestRun & { dir: string; store: LmdbAuditStore & { config: StoreConfig } }> {
  const { store, dir } = openStore();
  const follower = withLog ? new FollowerThread({ store: store.config, options: { pollMs: 250, checkpointIntervalMs: 5_000 }, signer, logLevel: 'warn' }, logger) : null;
  const [cpu, main] = [cpuUs(), mainThreadUs()];
  const perSec = await ingest(store, records);
  const mainUs = (mainThreadUs() - main) / records;
  await follower?.close(); // the process's CPU counts the log's catch-up to the last record
  return { perSec, mainUs, processUs: (cpuUs() - cpu) / records, dir, store };
}

async function discard({ store, dir }: { store: LmdbAuditStore; dir: string }): Promise<void> {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

/** Verify of a store with its log (the walk, then the bodies' check): leaves per second of wall and of CPU time, on `threads` threads or its own. */
async function verifyRate(store: LmdbAuditStore & { config: StoreConfig }, threads: number): Promise<{ perSec: number; perCpuSec: number }> {
  const [started, cpu] = [performance.now(), cpuUs()];
  const report = await verifyChain(store, new TreeStore(store.env), {
    verifier: signer,
    problem: (line) => console.error(line),
    ...(threads > 0 ? { threads: { store: store.config, count: threads } } : {}),
  });
  store.checkBodies(report.bodyHolders, (line) => {
    report.problems++;
    console.error(line);
  }); // as `audit-proxy verify` does after the walk
  if (report.problems > 0) throw new Error(`verify found ${report.problems} problems in an untouched store`);
  return { perSec: report.leaves / ((performance.now() - started) / 1000), perCpuSec: report.leaves / ((cpuUs() - cpu) / 1e6) };
}

/** The follower's CPU per record, measured alone: a second log built from the same commit log in a fresh environment. */
async function followerCpu(source: LmdbAuditStore): Promise<number> {
  const { store, dir } = openStore();
  try {
    const follower = new ChainFollower(source, new TreeStore(store.env), signer, { pollMs: 1_000_000, checkpointIntervalMs: 5_000 }, logger);
    const cpu = cpuUs();
    await follower.close();
    return (cpuUs() - cpu) / source.lastSeq();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));

function nodeHashCpuUs(): number {
  const [left, right] = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
  const cpu = cpuUs();
  for (let i = 0; i < 100_000; i++) nodeHash(left, right);
  return (cpuUs() - cpu) / 100_000;
}

const best = (runs: IngestRun[]): IngestRun => runs.reduce((a, b) => (b.perSec > a.perSec ? b : a));

export async function runChainBench(quick = false): Promise<ChainFigures> {
  const records = quick ? 50_000 : 200_000;
  const [off, on]: [IngestRun[], IngestRun[]] = [[], []];
  let [verify, verifyOne] = [{ perSec: 0, perCpuSec: 0 }, { perSec: 0, perCpuSec: 0 }];
  let followerUs = 0;
  for (let round = 0; round < 2; round++) {
    const plain = await ingestRound(records, false);
    off.push(plain);
    await discard(plain);
    const logged = await ingestRound(records, true);
    on.push(logged);
    if (round === 0) {
      verifyOne = await verifyRate(logged.store, 0);
      verify = await verifyRate(logged.store, Math.min(4, availableParallelism()));
      followerUs = await followerCpu(logged.store);
    }
    await discard(logged);
  }
  const [a, b] = [best(off), best(on)];
  return {
    records,
    ingestOffPerSec: Math.round(a.perSec),
    ingestOnPerSec: Math.round(b.perSec),
    mainThreadOffUs: round(a.mainUs),
    mainThreadOnUs: round(b.mainUs),
    processOffUs: round(a.processUs),
    processOnUs: round(b.processUs),
    followerUsPerRecord: round(followerUs),
    verifyPerSec: Math.round(verify.perSec),
    verifyPerCpuSec: Math.round(verify.perCpuSec),
    verifyOneThreadPerSec: Math.round(verifyOne.perSec),
    verifyOneThreadPerCpuSec: Math.round(verifyOne.perCpuSec),
    nodeHashUs: round(nodeHashCpuUs()),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await runChainBench(process.argv.includes('--quick')), null, 2));
}
