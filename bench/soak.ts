// Soak (issue 7, item 1): the built proxy as its own process, 200 connections for 60 s on loopback with a mix of
// methods, bodies, streamed and slow answers; then SIGTERM, and the store is read back: every request id sent must
// have exactly one record, the proxy must have logged no error, and its anonymous RSS must stay flat.
// Run: `npx tsc -p . && node dist/bench/soak.js [--connections 200] [--seconds 60]`. Exit code 0 = passed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkRecords, recordedRequestIds, rssGrowth, runLoad, startLoadUpstream } from './load.js';

const MIB = 1024 * 1024;
/** Anonymous memory the last third of the run may add over the middle third. */
const RSS_SLACK_BYTES = 128 * MIB;

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

function anonRssOf(pid: number): number {
  const match = /^RssAnon:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

interface ProxyProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
}

async function startProxy(upstream: string, dataDir: string): Promise<ProxyProcess> {
  const cli = resolve(import.meta.dirname, '../src/cli.js');
  const child = spawn(process.execPath, [cli, 'serve', '--upstream', upstream, '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir], {
    env: { PATH: process.env.PATH, AUDIT_PROXY__LOG__REQUESTS: 'false', AUDIT_PROXY__CAPTURE__REQUEST_BODY__MAX_BYTES: '4096' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => { output += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const match = /"port":(\d+)[^\n]*audit-proxy listening/.exec(output);
    if (match) return { child, url: `http://127.0.0.1:${match[1]}`, output: () => output };
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the proxy did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function stopProxy(proxy: ProxyProcess): Promise<number | null> {
  if (proxy.child.exitCode !== null) return proxy.child.exitCode;
  const exited = new Promise<number | null>((r) => proxy.child.once('exit', (code) => r(code)));
  proxy.child.kill('SIGTERM');
  return exited;
}

export interface SoakReport {
  passed: boolean;
  connections: number;
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  clientProblems: number;
  firstProblems: string[];
  records: number;
  missing: number;
  duplicated: number;
  proxyErrors: string[];
  exitCode: number | null;
  anonRssMiB: { settled: number; end: number; growth: number };
}

export async function soak(connections: number, seconds: number): Promise<SoakReport> {
  const upstream = await startLoadUpstream();
  const dataDir = mkdtempSync(join(tmpdir(), 'audit-proxy-soak-'));
  try {
    const proxy = await startProxy(upstream.url, dataDir);
    const pid = proxy.child.pid!;
    const load = await runLoad({ url: proxy.url, connections, durationMs: seconds * 1000, idPrefix: 'soak', rss: () => anonRssOf(pid) });
    const exitCode = await stopProxy(proxy);
    const check = checkRecords(load.sent, await recordedRequestIds(dataDir), 'soak');
    const proxyErrors = proxy.output().split('\n').filter((line) => /"level":(50|60)/.test(line));
    const rss = rssGrowth(load.rssSamples);
    const mib = (n: number) => Math.round((n / MIB) * 10) / 10;
    const report: SoakReport = {
      passed: false, connections, seconds, requests: load.sent.length,
      requestsPerSecond: Math.round(load.sent.length / (load.elapsedMs / 1000)),
      clientProblems: load.problemCount, firstProblems: load.problems.slice(0, 5),
      records: check.records, missing: check.missing.length, duplicated: check.duplicated.length,
      proxyErrors: proxyErrors.slice(0, 5), exitCode,
      anonRssMiB: { settled: mib(rss.settled), end: mib(rss.last), growth: mib(rss.growth) },
    };
    report.passed = load.problemCount === 0 && check.missing.length === 0 && check.duplicated.length === 0
      && check.records === load.sent.length && proxyErrors.length === 0 && exitCode === 0 && rss.growth < RSS_SLACK_BYTES;
    return report;
  } finally {
    await upstream.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await soak(flag('connections', 200), flag('seconds', 60));
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n${report.passed ? 'SOAK PASSED' : 'SOAK FAILED'}\n`);
  process.exit(report.passed ? 0 : 1);
}
