import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';

/** RFC 9110 7.6.1 connection-specific fields, plus those undici refuses to send (expect). */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer', 'expect',
  'http2-settings',
]);

/** Headers the proxy sets itself on the way up. */
const REPLACED_UPSTREAM = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id']);

/**
 * Headers that describe an earlier hop or rewrite the target (client address, host, port, prefix, original URL),
 * which frameworks behind a trusted proxy believe: dropped when the peer is not trusted, or the upstream would serve
 * a client-chosen address or path while the record has the real ones.
 */
export const HOP_CONTEXT_FROM_UNTRUSTED = new Set([
  'forwarded', 'x-real-ip', 'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-server', 'x-original-url', 'x-rewrite-url',
]);

export interface UpstreamHeaderOptions {
  requestId: string;
  peerIp: string;
  peerTrusted: boolean;
  changeOrigin: boolean;
  /** http or https: how the client reached the proxy. */
  scheme: string;
}

/** The request headers sent upstream, as undici's flat [name, value, ...] array, original case and order kept. */
export function upstreamRequestHeaders(req: IncomingMessage, options: UpstreamHeaderOptions): string[] {
  const raw = req.rawHeaders;
  const named = connectionNamed(req.headers.connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || REPLACED_UPSTREAM.has(lower) || named?.has(lower)) continue;
    if (!options.peerTrusted && HOP_CONTEXT_FROM_UNTRUSTED.has(lower)) continue;
    if (lower === 'host' && options.changeOrigin) continue;
    out.push(name, raw[i + 1]!);
  }
  for (const [name, value] of Object.entries(proxySetHeaders(req, options))) out.push(name, value);
  return out;
}

/** X-Forwarded-* and X-Request-Id as the proxy sets them: a peer's own values are believed only when it is trusted. */
export function proxySetHeaders(req: IncomingMessage, options: UpstreamHeaderOptions): Record<string, string> {
  const out: Record<string, string> = {};
  const priorFor = req.headers['x-forwarded-for'];
  out['x-forwarded-for'] = priorFor ? `${priorFor}, ${options.peerIp}` : options.peerIp;
  const priorProto = options.peerTrusted ? req.headers['x-forwarded-proto'] : undefined;
  out['x-forwarded-proto'] = typeof priorProto === 'string' ? priorProto : options.scheme;
  const priorHost = options.peerTrusted ? req.headers['x-forwarded-host'] : undefined;
  const host = typeof priorHost === 'string' ? priorHost : req.headers.host;
  if (host) out['x-forwarded-host'] = host;
  out['x-request-id'] = options.requestId;
  return out;
}

/**
 * The request headers as the upstream will receive them, for identifying the caller: a header the client names in
 * Connection is removed on the way, so it must not name the caller either.
 */
export function forwardedView(req: IncomingMessage): IncomingHttpHeaders {
  const named = connectionNamed(req.headers.connection);
  if (!named) return req.headers;
  const out: IncomingHttpHeaders = {};
  for (const name in req.headers) if (!named.has(name)) out[name] = req.headers[name];
  return out;
}

/** Header names the client listed in Connection (besides close, keep-alive and upgrade): removed before forwarding. */
export function connectionNamedHeaders(req: IncomingMessage): ReadonlySet<string> {
  return connectionNamed(req.headers.connection) ?? EMPTY;
}

const EMPTY: ReadonlySet<string> = new Set();

/** The upstream's response headers minus hop-by-hop ones; multi-valued ones (Set-Cookie) stay arrays. */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders, requestId: string): OutgoingHttpHeaders {
  const named = connectionNamed(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    out[name] = headers[name];
  }
  out['x-request-id'] = requestId;
  return out;
}

function connectionNamed(connection: string | string[] | undefined): Set<string> | null {
  if (!connection) return null;
  const value = Array.isArray(connection) ? connection.join(',') : connection;
  const names = value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s && s !== 'close' && s !== 'keep-alive' && s !== 'upgrade');
  return names.length ? new Set(names) : null;
}

/** True when the request carries a body (RFC 9112 6.3). */
export function hasRequestBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/** A header that may arrive more than once (an upstream may repeat Content-Type): its first value. */
export function firstValue(value: number | string | readonly string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value[0] as string | undefined;
  return value === undefined ? undefined : String(value);
}
