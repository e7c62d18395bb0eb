// Scenario 1: throughput and latency of a small GET and a 16 KiB POST at 50 and 1 connections, per contender.
// Contenders run side by side; loads are run round-robin (rotating the order each round) and the best run kept.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditProxy, httpProxy3, nginx, undiciLimit, startContender, startUpstream, type ContenderSpec, type Running } from './lib/contenders.js';
import { cpuMs, setAffinity } from './lib/processes.js';
import { ensureTool } from './lib/install.js';
import { wrk, writePostScript, type WrkResult } from './lib/wrk.js';

export interface HttpBenchOptions {
  quick: boolean;
  /**
   * Loads with many connections: single-worker contenders on CPU 0, the upstream and wrk on CPU 1, so "one worker"
   * means one core. Loads with one connection: all three on CPU 0; one request in flight needs no core to itself,
   * and in this VM a wake-up across cores costs tens of microseconds, which would swamp the latency measured.
   */
  pin: boolean;
  /** Run only the contenders with these names (all when absent). */
  contenders?: string[];
  /** Overrides for experiments: rounds, seconds per run, loads by name. */
  rounds?: number;
  seconds?: number;
  loads?: string[];
}

export interface Load {
  name: string;
  connections: number;
  post: boolean;
}

export const LOADS: Load[] = [
  { name: 'GET c50', connections: 50, post: false },
  { name: 'GET c1', connections: 1, post: false },
  { name: 'POST16k c50', connections: 50, post: true },
  { name: 'POST16k c1', connections: 1, post: true },
];

/** results[load][contender] */
export type HttpResults = Record<string, Record<string, WrkResult>>;

export interface HttpBenchOutput {
  results: HttpResults;
  workersOf: Record<string, number | 'auto'>;
  notes: string[];
  rounds: number;
  seconds: number;
}

function contenderSpecs(nginxBinary: string | null): ContenderSpec[] {
  const specs = [
    undiciLimit(),
    httpProxy3(),
    auditProxy('audit-proxy off', { record: false, logRequests: false, workers: 1 }),
    auditProxy('audit-proxy on', { record: true, logRequests: false, workers: 1 }),
    auditProxy('audit-proxy on inline', { record: true, logRequests: false, workers: 1, writer: 'inline' }),
    auditProxy('audit-proxy off +log', { record: false, logRequests: true, workers: 1 }),
    auditProxy('audit-proxy on +log', { record: true, logRequests: true, workers: 1 }),
    auditProxy('audit-proxy off --auto', { record: false, logRequests: false, workers: 'auto' }),
    auditProxy('audit-proxy on --auto', { record: true, logRequests: false, workers: 'auto' }),
  ];
  if (nginxBinary) specs.unshift(nginx(nginxBinary, 1), nginx(nginxBinary, 'auto'));
  // Another build's CLI (BENCH_BASELINE=/other/checkout/dist/src/cli.js) beside this one: before/after in one run.
  const baseline = process.env.BENCH_BASELINE;
  if (baseline) specs.push(auditProxy('baseline on', { record: true, logRequests: false, workers: 1, cli: baseline }));
  return specs;
}

interface Target {
  name: string;
  url: string;
  pid: number;
}

interface RunPlan {
  targets: Target[];
  loads: Load[];
  rounds: number;
  seconds: number;
  pin: boolean;
  upstreamPid: number;
  running: Running[];
  script: string;
}

export async function runHttpBench({ quick, pin, contenders, ...overrides }: HttpBenchOptions): Promise<HttpBenchOutput | null> {
  const notes: string[] = [];
  if (!ensureTool('wrk', 'wrk')) return null;
  const nginxBinary = ensureTool('nginx', 'nginx');
  if (!nginxBinary) notes.push('nginx skipped: not installed and could not be installed');
  const rounds = overrides.rounds ?? (quick ? 1 : 3);
  const seconds = overrides.seconds ?? (quick ? 1 : 3);
  const loads = LOADS.filter((l) => !overrides.loads || overrides.loads.includes(l.name));
  const specs = contenderSpecs(nginxBinary).filter((s) => !contenders || contenders.includes(s.name));
  const root = mkdtempSync(join(tmpdir(), 'audit-proxy-bench-'));
  const upstream = await startUpstream(pin ? '1' : null);
  const running: Running[] = [];
  try {
    for (const spec of specs) running.push(await startContender(spec, upstream.port, root, pin ? '0' : null));
    const targets = [
      { name: 'direct', url: `http://127.0.0.1:${upstream.port}`, pid: upstream.server.child.pid! },
      ...running.map((r) => ({ name: r.spec.name, url: r.url, pid: r.pid })),
    ];
    const plan = { targets, loads, rounds, seconds, pin, upstreamPid: upstream.server.child.pid!, running, script: writePostScript(root, 16 * 1024) };
    await warmUp(plan, quick);
    const samples = await runRounds(plan);
    const workersOf: Record<string, number | 'auto'> = { direct: 1, ...Object.fromEntries(running.map((r) => [r.spec.name, r.spec.workers])) };
    if (pin) notes.push('taskset: c50 loads run single-worker contenders on CPU 0, upstream and wrk on CPU 1; c1 loads run all three on CPU 0; --auto contenders unpinned');
    return { results: best(samples), workersOf, notes, rounds, seconds };
  } finally {
    for (const r of running) await r.stop();
    await upstream.server.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** One second of GET (and POST unless quick) at 50 connections per target, so the JIT has compiled the hot path. */
async function warmUp(plan: RunPlan, quick: boolean): Promise<void> {
  const loads = quick ? [LOADS[0]!] : [LOADS[0]!, LOADS[2]!];
  const cpus = plan.pin ? cpusFor(LOADS[0]!) : null;
  if (cpus) pinAll(cpus, plan.upstreamPid, plan.running);
  for (const target of plan.targets) {
    for (const load of loads) {
      await wrk({ url: target.url, connections: load.connections, seconds: 1, script: load.post ? plan.script : null, cpus: cpus?.load ?? null });
    }
  }
}

/** Every load against every target, round after round, the order of targets rotated each round. */
async function runRounds(plan: RunPlan): Promise<Record<string, Record<string, WrkResult[]>>> {
  const samples: Record<string, Record<string, WrkResult[]>> = {};
  for (let round = 0; round < plan.rounds; round++) {
    for (const load of plan.loads) {
      const perLoad = (samples[load.name] ??= {});
      const cpus = plan.pin ? cpusFor(load) : null;
      if (cpus) pinAll(cpus, plan.upstreamPid, plan.running);
      for (const target of rotate(plan.targets, round)) {
        const cpuBefore = cpuMs(target.pid);
        const script = load.post ? plan.script : null;
        const result = await wrk({ url: target.url, connections: load.connections, seconds: plan.seconds, script, cpus: cpus?.load ?? null });
        result.cpuUsPerRequest = ((cpuMs(target.pid) - cpuBefore) * 1000) / (result.rps * plan.seconds);
        (perLoad[target.name] ??= []).push(result);
      }
    }
  }
  return samples;
}

interface Cpus {
  proxy: string;
  load: string;
}

function cpusFor(load: Load): Cpus {
  return load.connections > 1 ? { proxy: '0', load: '1' } : { proxy: '0', load: '0' };
}

function pinAll(cpus: Cpus, upstreamPid: number, running: Running[]): void {
  setAffinity(upstreamPid, cpus.load);
  for (const r of running) if (r.spec.workers === 1) setAffinity(r.pid, cpus.proxy);
}

function rotate<T>(items: T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * Best of the rounds for each figure: other load on the machine only ever makes a run slower, so the best run
 * is the one least disturbed (the machine this was written on was shared with other jobs).
 */
function best(samples: Record<string, Record<string, WrkResult[]>>): HttpResults {
  const out: HttpResults = {};
  for (const [load, perTarget] of Object.entries(samples)) {
    out[load] = {};
    for (const [target, runs] of Object.entries(perTarget)) {
      out[load][target] = {
        rps: Math.max(...runs.map((r) => r.rps)),
        p50Ms: Math.min(...runs.map((r) => r.p50Ms)),
        p99Ms: Math.min(...runs.map((r) => r.p99Ms)),
        errors: runs.reduce((sum, r) => sum + r.errors, 0),
        cpuUsPerRequest: Math.min(...runs.map((r) => r.cpuUsPerRequest ?? Number.NaN)),
      };
    }
  }
  return out;
}
