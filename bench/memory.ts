// Scenario 3: audit-proxy's peak RSS growth while a 1 GiB body streams through it, upload and download.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditProxy, startContender, startUpstream } from './lib/contenders.js';
import { rssBytes } from './lib/processes.js';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const CHUNK = Buffer.alloc(64 * 1024, 0x62);

export interface MemoryFigures {
  baselineRssMiB: number;
  uploadGrowthMiB: number;
  downloadGrowthMiB: number;
  uploadMiBps: number;
  downloadMiBps: number;
}

export async function runMemoryBench(bytes = GIB): Promise<MemoryFigures> {
  const root = mkdtempSync(join(tmpdir(), 'audit-proxy-memory-'));
  const upstream = await startUpstream(null);
  const proxy = await startContender(auditProxy('audit-proxy on', { record: true, logRequests: true, workers: 1 }), upstream.port, root, null);
  try {
    for (let i = 0; i < 20; i++) await send(proxy.url, 'GET', '/warm', 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const baseline = rssBytes(proxy.pid);
    const up = await sampled(proxy.pid, () => send(proxy.url, 'POST', '/upload', bytes));
    const down = await sampled(proxy.pid, () => send(proxy.url, 'GET', `/big?bytes=${bytes}`, 0));
    return {
      baselineRssMiB: round(baseline / MIB),
      uploadGrowthMiB: round((up.peak - baseline) / MIB),
      downloadGrowthMiB: round((down.peak - baseline) / MIB),
      uploadMiBps: round(bytes / MIB / up.seconds),
      downloadMiBps: round(bytes / MIB / down.seconds),
    };
  } finally {
    await proxy.stop();
    await upstream.server.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** Peak RSS (sampled every 20 ms) while the transfer runs, and how long it took. */
async function sampled(pid: number, transfer: () => Promise<void>): Promise<{ peak: number; seconds: number }> {
  let peak = rssBytes(pid);
  const timer = setInterval(() => { peak = Math.max(peak, rssBytes(pid)); }, 20);
  const started = performance.now();
  try {
    await transfer();
  } finally {
    clearInterval(timer);
  }
  return { peak: Math.max(peak, rssBytes(pid)), seconds: (performance.now() - started) / 1000 };
}

/** One request: uploads `bytes` (in 64 KiB chunks, with backpressure) and reads the whole response. */
function send(base: string, method: string, path: string, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers = bytes > 0 ? { 'content-type': 'application/octet-stream', 'content-length': String(bytes) } : {};
    const req = request(`${base}${path}`, { method, headers, agent: false, timeout: 120_000 }, (res) => {
      res.on('data', () => {});
      res.once('end', resolve);
      res.once('error', reject);
    });
    req.once('error', reject);
    req.once('timeout', () => req.destroy(new Error('memory bench transfer timed out')));
    let left = bytes;
    const pump = (): void => {
      while (left > 0) {
        const size = Math.min(left, CHUNK.length);
        left -= size;
        if (!req.write(size === CHUNK.length ? CHUNK : CHUNK.subarray(0, size))) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

const round = (value: number) => Math.round(value * 10) / 10;
