// Merkle log benchmark: what the follower costs per record beside the store's own ingest (side by side, one run),
// and how fast `audit-proxy verify` checks a store. Standalone: `npx tsc -p . && node dist/bench/chain.js [--quick]`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { ChainFollower } from '../src/chain/follower.js';
import { nodeHash } from '../src/chain/merkle.js';
import { generateSignerKey, parseSignerKey } from '../src/chain/note.js';
import { TreeStore } from '../src/chain/tree-store.js';
import { verifyChain } from '../src/chain/verify.js';
import { storeSchema } from '../src/config/sections/store.js';
import { openAuditStore, type LmdbAuditStore } from '../src/store/index.js';
import { ingest } from './store.js';

export interface ChainFigures {
  records: number;
  /** Store ingest alone, and with the follower hashing in the same process (caught up at the end). */
  ingestOffPerSec: number;
  ingestOnPerSec: number;
  /** CPU time of the follower per record: hashing, tree nodes, LMDB writes. */
  followerUsPerRecord: number;
  /** CPU time of the store's ingest per record, for scale. */
  storeUsPerRecord: number;
  verifyPerSec: number;
  /** Leaves verified per second of CPU time (steadier than wall time on a shared machine). */
  verifyPerCpuSec: number;
  /** CPU µs of one SHA-256 of 65 bytes (an interior node) in the same run: how loaded the machine was. */
  nodeHashUs: number;
}

const logger = pino({ level: 'warn' });
const signer = parseSignerKey(generateSignerKey('bench.example/log'));

function openStore(): { store: LmdbAuditStore; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'audit-chain-bench-'));
  return { store: openAuditStore(storeSchema.parse({ path: dir, queueMax: 50_000, retention: { maxAgeDays: 0 } }), logger), dir };
}

function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Ingest alone: records/s and CPU µs per record. */
async function ingestAlone(records: number): Promise<{ perSec: number; usPerRecord: number }> {
  const { store, dir } = openStore();
  try {
    const cpu = cpuUs();
    const perSec = await ingest(store, records);
    return { perSec, usPerRecord: (cpuUs() - cpu) / records };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Ingest with the follower polling as it does in the proxy; then the follower's own CPU for a full catch-up. */
async function ingestWithLog(records: number): Promise<{ perSec: number; followerUs: number; verifyPerSec: number; verifyPerCpuSec: number }> {
  const { store, dir } = openStore();
  try {
    const tree = new TreeStore(store.env);
    const follower = new ChainFollower(store, tree, signer, { pollMs: 250, checkpointIntervalMs: 5_000 }, logger);
    follower.start();
    const started = performance.now();
    await ingest(store, records);
    await follower.close();
    const perSec = records / ((performance.now() - started) / 1000);
    const followerUs = await followerCpu(store);
    const [verifyStarted, verifyCpu] = [performance.now(), cpuUs()];
    const report = verifyChain(store, tree, { verifier: signer, problem: (line) => console.error(line) });
    const verifyPerSec = report.leaves / ((performance.now() - verifyStarted) / 1000);
    const verifyPerCpuSec = report.leaves / ((cpuUs() - verifyCpu) / 1e6);
    if (report.problems > 0) throw new Error(`verify found ${report.problems} problems in an untouched store`);
    return { perSec, followerUs, verifyPerSec, verifyPerCpuSec };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
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

export async function runChainBench(quick = false): Promise<ChainFigures> {
  const records = quick ? 100_000 : 400_000;
  const off = await ingestAlone(records);
  const on = await ingestWithLog(records);
  return {
    records,
    ingestOffPerSec: Math.round(off.perSec),
    ingestOnPerSec: Math.round(on.perSec),
    followerUsPerRecord: round(on.followerUs),
    storeUsPerRecord: round(off.usPerRecord),
    verifyPerSec: Math.round(on.verifyPerSec),
    verifyPerCpuSec: Math.round(on.verifyPerCpuSec),
    nodeHashUs: round(nodeHashCpuUs()),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await runChainBench(process.argv.includes('--quick')), null, 2));
}
