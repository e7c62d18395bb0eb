// Issue 11, request path: CPU per call of what a recorded request costs before store.append, in one process,
// this build against another build's dist/ (interleaved rounds), so a busy machine affects both alike.
// `node dist/bench/request-path.js [<other checkout>/dist]`; a measurement, not a test.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

/** Two builds loaded by path: their modules are untyped here. */
type Module = Record<string, any>;

interface Build {
  name: string;
  cases: Record<string, () => unknown>;
}

const REQUEST_HEADERS = {
  host: '127.0.0.1:8080', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36', accept: 'application/json',
  'accept-encoding': 'gzip, deflate, br', 'accept-language': 'en-US,en;q=0.9', 'x-api-key': 'sk_live_abcdefghijklmnop1234',
  'x-forwarded-for': '10.1.2.3', connection: 'keep-alive', 'cache-control': 'no-cache',
};
const BODY = Buffer.from(`{"data":"${'a'.repeat(16_373)}"}`);

async function load(name: string, dist: string): Promise<Build> {
  const of = async (path: string): Promise<Module> => import(new URL(`src/${path}`, `file://${dist}/`).href) as Promise<Module>;
  const [record, route, config, capture, context, metrics, requestId] = await Promise.all([
    of('pipeline/record.js'), of('audit/route.js'), of('config/load.js'), of('pipeline/capture.js'), of('pipeline/context.js'),
    of('metrics.js'), of('pipeline/request-id.js'),
  ]);
  const parsed = config.parseConfig({ upstream: { url: 'http://127.0.0.1:8081' } });
  const builder = new record.RecordBuilder(parsed, await route.createRouteClassifier(parsed.routes), 'http://127.0.0.1:8081');
  const contextFor = (post: boolean): any => {
    const headers = post ? { ...REQUEST_HEADERS, 'content-type': 'application/json' } : REQUEST_HEADERS;
    const req = { method: post ? 'POST' : 'GET', url: '/v1/things/42', headers } as unknown as IncomingMessage;
    const ctx = new context.RequestContext(req, {} as ServerResponse, 'request-1', '127.0.0.1');
    ctx.statusCode = 200;
    if (post) {
      ctx.requestBody = new capture.BodyCapture(16_384);
      ctx.requestBody.add(BODY.subarray(0, 8_192));
      ctx.requestBody.add(BODY.subarray(8_192));
    }
    return ctx;
  };
  const get = contextFor(false);
  const post = contextFor(true);
  const proxyMetrics = new metrics.ProxyMetrics(null);
  return {
    name,
    cases: {
      'RecordBuilder.build, GET (9 headers)': () => builder.build(get),
      'RecordBuilder.build, 16 KiB JSON POST': () => builder.build(post),
      'request id (none sent)': () => requestId.requestIdFor(undefined),
      'metrics.observe': () => proxyMetrics.observe('completed', 200, 1.5),
    },
  };
}

function cpuPerCall(fn: () => unknown, calls: number): number {
  for (let i = 0; i < calls / 10; i++) fn();
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / calls;
}

const here = fileURLToPath(new URL('..', import.meta.url));
const builds = [await load('this build', here)];
if (process.argv[2]) builds.unshift(await load(process.argv[2], process.argv[2]));
const best = new Map<string, number>();
for (let round = 0; round < 3; round++) {
  for (const build of builds) {
    for (const [label, fn] of Object.entries(build.cases)) {
      const key = `${label} | ${build.name}`;
      const us = cpuPerCall(fn, label.includes('POST') ? 5_000 : 50_000);
      best.set(key, Math.min(best.get(key) ?? Infinity, us));
    }
  }
}
for (const [key, us] of best) console.log(`${us.toFixed(2).padStart(8)} µs  ${key}`);
