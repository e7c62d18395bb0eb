import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/load.js';
import type { AuditRecord } from '../../src/audit/record.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { startProxy, type RunningProxy } from '../../src/server.js';

export interface TestProxy extends RunningProxy {
  url: string;
  dataDir: string;
  /** Every log line the proxy wrote, as text. */
  logs: string[];
  config: Config;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> | T[K] : T[K] };

/** The real proxy, in this process, on a free loopback port, with its store in a fresh temp dir. */
export async function startTestProxy(upstreamUrl: string, overrides: DeepPartial<Config> & Record<string, unknown> = {}): Promise<TestProxy> {
  const dataDir = mkdtempSync(join(tmpdir(), 'audit-proxy-test-'));
  const config = parseConfig(merge({
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { url: upstreamUrl },
    store: { path: dataDir },
    log: { level: 'info', pretty: 'false' },
  }, overrides));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString('utf8').split(/(?<=\n)/)); // request lines of one turn come in one write
      done();
    },
  });
  const proxy = await startProxy(config, createLogger(config, sink));
  const stop = proxy.close;
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${proxy.port}`,
    dataDir,
    logs,
    config,
    close: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

function merge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const prior = out[key];
    out[key] = isPlain(prior) && isPlain(value) ? merge(prior, value) : value;
  }
  return out;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every record the proxy has committed, newest first, once `count` of them are there. */
export async function recordsOf(proxy: TestProxy, count = 1): Promise<AuditRecord[]> {
  const store = proxy.services.store!;
  const deadline = Date.now() + 5_000;
  for (;;) {
    await store.flush();
    const { items } = (await store.query({}, { limit: 1000 }));
    if (items.length >= count || Date.now() > deadline) return items;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The committed record of one request id, waiting for it (it is appended when the response closes, which may come
 * just after the client has read the last byte). */
export async function recordOf(proxy: TestProxy, requestId: string): Promise<AuditRecord | undefined> {
  const store = proxy.services.store!;
  const deadline = Date.now() + 5_000;
  for (;;) {
    await store.flush();
    const [record] = (await store.query({ requestId }, { limit: 1 })).items;
    if (record || Date.now() > deadline) return record;
    await new Promise((r) => setTimeout(r, 20));
  }
}
