// Load generator shared by the soak script (bench/soak.ts) and the short load test (test/hardening/load.test.ts):
// a real loopback upstream with fast, echoing, streaming and slow answers, and N client loops that each keep one
// request in flight for a fixed time, every request carrying its own X-Request-Id.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { pino } from 'pino';
import { Pool } from 'undici';
import { parseConfig } from '../src/config/load.js';
import { openAuditStore } from '../src/store/index.js';

export interface LoadUpstream {
  url: string;
  close(): Promise<void>;
}

/** Events in a streamed answer, and the pause between two of them. */
const SSE_EVENTS = 5;
const SSE_GAP_MS = 20;
/** Upload size of the binary PUT. */
const UPLOAD_BYTES = 64 * 1024;

function answerSse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  let sent = 0;
  const timer = setInterval(() => {
    res.write(`data: event ${sent}\n\n`);
    if (++sent === SSE_EVENTS) {
      clearInterval(timer);
      res.end();
    }
  }, SSE_GAP_MS);
  res.on('close', () => clearInterval(timer));
}

function handleUpstream(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0]!;
  let bytes = 0;
  req.on('data', (chunk: Buffer) => { bytes += chunk.length; });
  req.on('end', () => {
    if (path === '/load/sse') return answerSse(res);
    const reply = () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, bytes }));
    };
    // Slow answers: 50 to 250 ms, fixed by the path so a run is repeatable.
    if (path.startsWith('/load/slow/')) setTimeout(reply, 50 + (Number(path.slice(11)) % 5) * 50);
    else reply();
  });
}

export async function startLoadUpstream(): Promise<LoadUpstream> {
  const server: Server = createServer({ keepAliveTimeout: 60_000 }, handleUpstream);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

interface Shot {
  method: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Checks the answer's body; a string is a problem. */
  check: (text: string) => string | null;
}

const UPLOAD = Buffer.alloc(UPLOAD_BYTES, 7);

/** The request mix: the n-th request of a loop is shots[n % shots.length]. */
function shotFor(n: number): Shot {
  const echoes = (method: string, bytes: number) => (text: string) =>
    text === JSON.stringify({ method, bytes }) ? null : `unexpected echo ${text.slice(0, 80)}`;
  switch (n % 6) {
    case 0: return { method: 'GET', path: `/load/items/${n}?page=${n % 7}`, check: echoes('GET', 0) };
    case 1: {
      const body = JSON.stringify({ n, note: 'x'.repeat(n % 2000) });
      return { method: 'POST', path: '/load/items', body, headers: { 'content-type': 'application/json' }, check: echoes('POST', Buffer.byteLength(body)) };
    }
    case 2: return { method: 'PUT', path: `/load/blobs/${n}`, body: UPLOAD, headers: { 'content-type': 'application/octet-stream' }, check: echoes('PUT', UPLOAD_BYTES) };
    case 3: return { method: 'GET', path: '/load/sse', check: (t) => (t.split('\n\n').length - 1 === SSE_EVENTS ? null : `short stream: ${t.length} bytes`) };
    case 4: return { method: 'GET', path: `/load/slow/${n}`, check: echoes('GET', 0) };
    default: return { method: 'DELETE', path: `/load/items/${n}`, check: echoes('DELETE', 0) };
  }
}

export interface LoadOptions {
  /** The proxy's origin. */
  url: string;
  connections: number;
  durationMs: number;
  /** Request ids are `${idPrefix}-${loop}-${n}`. */
  idPrefix: string;
  /** Resident set size of the process under test, sampled every rssEveryMs. */
  rss?: () => number;
  rssEveryMs?: number;
}

export interface LoadResult {
  /** Every request id sent (whatever became of it). */
  sent: string[];
  /** Ids of requests answered 200 with the expected body. */
  ok: number;
  /** Problems seen by clients (status, body or transport), the first 20. */
  problems: string[];
  problemCount: number;
  rssSamples: number[];
  elapsedMs: number;
  /** Time to the whole answer of every request, ms. */
  latenciesMs: number[];
}

async function fire(pool: Pool, shot: Shot, requestId: string): Promise<string | null> {
  try {
    const res = await pool.request({
      method: shot.method as 'GET', path: shot.path, body: shot.body ?? null,
      headers: { ...shot.headers, 'x-request-id': requestId },
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) return `${requestId}: status ${res.statusCode} ${text.slice(0, 120)}`;
    if (res.headers['x-request-id'] !== requestId) return `${requestId}: answered with request id ${String(res.headers['x-request-id'])}`;
    const problem = shot.check(text);
    return problem === null ? null : `${requestId}: ${problem}`;
  } catch (err) {
    return `${requestId}: ${(err as Error).message}`;
  }
}

/** Runs `connections` loops against the proxy until durationMs has passed; each waits for its answer before the next. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  // A connection the cluster primary was handing to a worker as it was killed is never answered (Node keeps the
  // handle waiting for the dead worker's ack): give up on it as a problem instead of waiting undici's 300 s.
  const pool = new Pool(options.url, { connections: options.connections, pipelining: 1, keepAliveTimeout: 60_000,
    headersTimeout: 15_000, bodyTimeout: 15_000 });
  const result: LoadResult = { sent: [], ok: 0, problems: [], problemCount: 0, rssSamples: [], elapsedMs: 0, latenciesMs: [] };
  const sample = () => { if (options.rss) result.rssSamples.push(options.rss()); };
  const sampler = setInterval(sample, options.rssEveryMs ?? 1_000);
  const started = Date.now();
  const deadline = started + options.durationMs;
  const loop = async (loopId: number) => {
    for (let n = loopId; Date.now() < deadline; n += options.connections) {
      const requestId = `${options.idPrefix}-${loopId}-${n}`;
      result.sent.push(requestId);
      const begun = performance.now();
      const problem = await fire(pool, shotFor(n), requestId);
      result.latenciesMs.push(performance.now() - begun);
      if (problem === null) result.ok++;
      else if (result.problemCount++ < 20) result.problems.push(problem);
    }
  };
  try {
    sample();
    await Promise.all(Array.from({ length: options.connections }, (_, i) => loop(i)));
  } finally {
    clearInterval(sampler);
    sample();
    await pool.close();
  }
  result.elapsedMs = Date.now() - started;
  return result;
}

export interface RecordCheck {
  /** Sent ids with no record. */
  missing: string[];
  /** Ids with more than one record. */
  duplicated: string[];
  /** Records of this run (by id prefix). */
  records: number;
}

/** Every request id recorded in the store at dataDir (opened read-only), newest first. */
export async function recordedRequestIds(dataDir: string): Promise<string[]> {
  const config = parseConfig({ upstream: { url: 'http://127.0.0.1:1' }, store: { path: dataDir } });
  const store = openAuditStore(config.store, pino({ level: 'silent' }), { readOnly: true });
  try {
    const ids: string[] = [];
    for await (const record of store.iterate({})) ids.push(record.requestId);
    return ids;
  } finally {
    await store.close();
  }
}

/** Matches the records' request ids against the ids sent: each exactly once. */
export function checkRecords(sent: readonly string[], recordedIds: Iterable<string>, idPrefix: string): RecordCheck {
  const counts = new Map<string, number>();
  let records = 0;
  for (const id of recordedIds) {
    if (!id.startsWith(`${idPrefix}-`)) continue;
    records++;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const missing = sent.filter((id) => !counts.has(id));
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  return { missing, duplicated, records };
}

/**
 * RSS is stable when the highest sample of the last third is within `slackBytes` of the highest sample of the
 * middle third (the first third is warm-up: pools, JIT, LMDB pages).
 */
export function rssGrowth(samples: readonly number[]): { settled: number; last: number; growth: number } {
  const third = Math.max(1, Math.floor(samples.length / 3));
  const middle = samples.slice(third, 2 * third);
  const end = samples.slice(2 * third);
  const settled = Math.max(...(middle.length ? middle : samples));
  const last = Math.max(...(end.length ? end : samples));
  return { settled, last, growth: last - settled };
}
