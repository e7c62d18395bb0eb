import type { ErrorCode } from '../errors.js';

const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED',
]);
const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** One place maps a transport error to what the client is told (502 or 504). */
export function classifyUpstreamError(err: unknown): ErrorCode {
  const code = errorCode(err);
  if (TIMEOUT.has(code)) return 'upstream_timeout';
  if (UNREACHABLE.has(code)) return 'upstream_unreachable';
  return 'upstream_failed';
}

/** The error's code, or its cause's (undici wraps socket errors). */
export function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  if (typeof e?.code === 'string' && e.code !== 'UND_ERR_SOCKET') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return typeof e?.code === 'string' ? e.code : 'UNKNOWN';
}

const CAUSES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'DNS lookup failed for now',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset by the upstream',
  EPIPE: 'connection closed by the upstream while sending',
  UND_ERR_SOCKET: 'connection closed by the upstream',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout (upstream.connectTimeoutMs)',
  UND_ERR_BODY_TIMEOUT: 'response body stalled (upstream.bodyTimeoutMs)',
};

/** undici's words for a response it cannot parse as one (an unsolicited 1xx or 101), and its internal assertions. */
const MALFORMED = /^bad (?:response|upgrade)\b/;
const MALFORMED_CAUSE = 'malformed or unexpected response (an unsolicited 1xx or 101, or a status outside 100-999)';

/** Why a forward failed, for the log line and the record: "ECONNREFUSED: connection refused". */
export function describeUpstreamError(err: unknown, timeoutMs: number): string {
  const code = errorCode(err);
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return `timeout: no response headers within ${timeoutMs} ms (upstream.timeoutMs)`;
  if (code === 'ERR_ASSERTION' || (code === 'UND_ERR_SOCKET' && MALFORMED.test((err as Error).message))) return `${code}: ${MALFORMED_CAUSE}`;
  const cause = CAUSES[code] ?? ((err as Error | null)?.message || 'unknown error');
  return `${code}: ${cause}`;
}
