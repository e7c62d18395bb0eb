// wrk as the load generator: one thread, fixed duration, latency percentiles parsed from --latency output.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pinned } from './processes.js';

const run = promisify(execFile);

export interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU time the server (and its children) spent per request, when measured. */
  cpuUsPerRequest?: number;
}

export interface WrkLoad {
  url: string;
  connections: number;
  seconds: number;
  /** Lua script (a 16 KiB POST), or null for a plain GET. */
  script: string | null;
  cpus: string | null;
}

/** Writes the Lua script that turns every wrk request into a 16 KiB JSON POST. */
export function writePostScript(dir: string, bytes: number): string {
  const file = join(dir, 'post.lua');
  const filler = bytes - '{"data":""}'.length;
  writeFileSync(file, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n`
    + `wrk.body = '{"data":"' .. string.rep("a", ${filler}) .. '"}'\n`);
  return file;
}

export async function wrk(load: WrkLoad): Promise<WrkResult> {
  const args = ['-t1', `-c${load.connections}`, `-d${load.seconds}s`, '--latency', '--timeout', '5s'];
  if (load.script) args.push('-s', load.script);
  const [command, argv] = pinned(load.cpus, 'wrk', [...args, load.url]);
  const { stdout } = await run(command, argv, { timeout: (load.seconds + 15) * 1000 });
  return parseWrk(stdout);
}

export function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const errors = [...out.matchAll(/(?:Socket errors:.*?(\d+).*?(\d+).*?(\d+).*?(\d+))|Non-2xx or 3xx responses: (\d+)/g)]
    .flatMap((m) => m.slice(1).filter(Boolean).map(Number)).reduce((a, b) => a + b, 0);
  return { rps, p50Ms: percentile(out, '50'), p99Ms: percentile(out, '99'), errors };
}

function percentile(out: string, pct: string): number {
  const match = new RegExp(`^\\s+${pct}(?:\\.0+)?%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
  if (!match) return Number.NaN;
  const scale = { us: 0.001, ms: 1, s: 1000 }[match[2] as 'us' | 'ms' | 's'];
  return Number(match[1]) * scale;
}
