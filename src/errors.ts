import type { ServerResponse } from 'node:http';
import type { Outcome } from './audit/record.js';

/** The errors the proxy answers in the upstream's or the store's stead: a stable code, the status, the outcome it records. */
export const ERRORS = {
  upstream_unreachable: { status: 502, outcome: 'upstream_error', message: 'the upstream could not be reached' },
  upstream_failed: { status: 502, outcome: 'upstream_error', message: 'the upstream failed before answering' },
  store_unavailable: { status: 503, outcome: 'rejected', message: 'the audit store cannot record requests right now' },
  upstream_timeout: { status: 504, outcome: 'upstream_timeout', message: 'the upstream did not answer in time' },
} as const satisfies Record<string, { status: number; outcome: Outcome; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The one JSON error shape of every answer the proxy gives itself (the audit endpoints' envelope). */
export interface ErrorBody {
  code: number;
  data: null;
  message: string;
  requestId: string;
}

export function errorBody(status: number, message: string, requestId: string): string {
  const body: ErrorBody = { code: status, data: null, message, requestId };
  return JSON.stringify(body);
}

/** Writes a JSON answer unless headers already went out; returns the bytes written. */
export function sendJson(res: ServerResponse, status: number, body: string, extraHeaders?: Record<string, string>): number {
  if (res.headersSent || res.destroyed) return 0;
  const length = Buffer.byteLength(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff', // audit answers carry what clients sent: never sniffed as HTML
    ...extraHeaders,
  });
  res.end(body);
  return length;
}
