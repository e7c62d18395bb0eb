import { z } from 'zod';
import { parseRange } from '../../net/trust.js';

function isRange(value: string): boolean {
  try {
    parseRange(value);
    return true;
  } catch {
    return false;
  }
}

const port = z.number().int().min(0).max(65535);
const path = z.string().startsWith('/', 'must start with /');

export const listenSchema = z.strictObject({
  host: z.string().min(1).default('0.0.0.0').describe('Address to listen on.'),
  port: port.default(8080).describe('Port to listen on (0 picks a free one).'),
}).prefault({});

export const upstreamSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .describe('Origin of the API behind the proxy, e.g. http://127.0.0.1:3000 (required).'),
  timeoutMs: z.number().int().positive().default(30_000)
    .describe('How long to wait for the upstream\'s response headers before answering 504.'),
  connectTimeoutMs: z.number().int().positive().default(5_000)
    .describe('How long to wait for a TCP/TLS connection to the upstream before answering 502.'),
  bodyTimeoutMs: z.number().int().min(0).default(300_000)
    .describe('Longest silence allowed between two chunks of the upstream\'s response body (0 = none).'),
  changeOrigin: z.boolean().default(false)
    .describe('Send the upstream\'s own Host header instead of the client\'s.'),
  connections: z.number().int().positive().default(256)
    .describe('Most keep-alive connections to the upstream per worker.'),
  keepAliveTimeoutMs: z.number().int().positive().default(4_000)
    .describe('How long an idle upstream connection is kept.'),
}).prefault({} as { url: string }); // parsed, so a missing url is reported as upstream.url

export const pathsSchema = z.strictObject({
  healthz: path.default('/healthz').describe('Liveness probe answered by the proxy itself.'),
  readyz: path.default('/readyz').describe('Readiness probe: store open and upstream reachable.'),
  metrics: path.default('/metrics').describe('Prometheus metrics.'),
  openapi: path.default('/openapi.json').describe('OpenAPI 3.1 document of the proxy\'s own endpoints.'),
}).prefault({}).describe('Paths the proxy answers itself; change them when they would shadow an upstream route.');

export const serverSchema = z.strictObject({
  drainTimeoutMs: z.number().int().min(0).default(10_000)
    .describe('On SIGTERM/SIGINT, how long in-flight requests may take before the process exits anyway.'),
  keepAliveTimeoutMs: z.number().int().positive().default(65_000)
    .describe('How long an idle client connection is kept open.'),
  maxHeaderBytes: z.number().int().positive().default(16_384)
    .describe('Largest request head accepted; larger gets 431.'),
  requestTimeoutMs: z.number().int().min(0).default(0)
    .describe('Longest a client may take to send a whole request (0 = none, bodies can be large).'),
  headersTimeoutMs: z.number().int().positive().default(60_000)
    .describe('Longest a client may take to send a request head (request line and headers); 408 after, counted in audit_proxy_slow_clients_total.'),
  bodyTimeoutMs: z.number().int().positive().default(10_000)
    .describe('Window over which a request body\'s upload rate is checked while the proxy waits for it; a body slower than minBodyBytesPerSecond (or silent) for a window gets 408, recorded.'),
  minBodyBytesPerSecond: z.number().int().min(0).default(500)
    .describe('Slowest upload rate accepted for a request body over each bodyTimeoutMs window (0 = only a silent window is too slow).'),
  requestBufferBytes: z.number().int().min(0).default(65_536)
    .describe('A request body is received up to this many bytes before an upstream connection is taken, so a slow client holds none; larger bodies then stream over at most half of upstream.connections (0 = stream at once).'),
}).prefault({}).refine((s) => s.requestTimeoutMs === 0 || s.headersTimeoutMs <= s.requestTimeoutMs, {
  message: 'headersTimeoutMs must not exceed requestTimeoutMs', path: ['headersTimeoutMs'],
});

const WORKERS_ACCEPTED = 'must be auto (one per core) or a whole number from 1 to 256';
export const workersSchema = z.union([
  z.literal('auto'),
  z.number().int(WORKERS_ACCEPTED).min(1, WORKERS_ACCEPTED).max(256, WORKERS_ACCEPTED),
], { error: WORKERS_ACCEPTED })
  .default(1).describe('Worker processes sharing the port; auto = one per core.');

export const logSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')
    .describe('Log level.'),
  pretty: z.enum(['auto', 'true', 'false']).default('auto')
    .describe('Human-readable lines: auto = when stdout is a terminal.'),
  requests: z.boolean().default(true).describe('One line per request at info level.'),
}).prefault({});

export const trustProxySchema = z.array(z.string().refine(isRange, 'must be an IP address or CIDR range')).default([])
  .describe('CIDRs of proxies in front whose X-Forwarded-For and identity headers are believed.');
