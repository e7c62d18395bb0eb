import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Outcome } from '../audit/record.js';
import { errorBody, sendJson } from '../errors.js';
import { ANONYMOUS, type Principal } from '../principal/principal.js';
import type { BodyCapture } from './capture.js';
import { uuidv7 } from './uuid7.js';

/** Everything one request's stages read and fill, from arrival to the record. */
export class RequestContext {
  readonly startedAt = performance.now();
  readonly createdAtMs = Date.now();
  /** The record's id, taken on arrival so ids follow arrival order. */
  readonly recordId = uuidv7(this.createdAtMs);
  readonly pathname: string;
  readonly search: string;
  principal: Principal = ANONYMOUS;
  clientIp = '';
  country: string | null = null;
  peerTrusted = false;
  statusCode = 0;
  outcome: Outcome = 'completed';
  /** Why the outcome is not completed, when the proxy knows (e.g. "ECONNREFUSED: connection refused"). */
  outcomeDetail: string | null = null;
  ttfbMs: number | null = null;
  requestBytes = 0;
  responseBytes = 0;
  requestBody: BodyCapture | null = null;
  responseBody: BodyCapture | null = null;
  /** The upstream response's Content-Type (a proxied response's headers never reach res.getHeader). */
  responseContentType: string | undefined = undefined;
  /** A content coding (gzip, br) that kept an error body from being captured: its bytes are not text. */
  responseCoding: string | null = null;
  /** Not recorded: the proxy's own health and metrics endpoints, and excluded routes. */
  unrecorded = false;
  /** A WebSocket upgrade: no response object, the tunnel sets status and outcome. */
  upgrade = false;
  /** The client's connection closed (the response's close, or the upgrade socket's). */
  clientClosed = false;
  /** Settles once an asynchronous identification has run its course (the record waits for the principal). */
  identifying: Promise<void> | null = null;
  /** The proxy's own endpoints set this (e.g. audit_logs/read) instead of the route classifier. */
  resource: { resourceType: string; action: string; routePattern: string } | null = null;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly requestId: string,
    readonly peerIp: string,
  ) {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.pathname = q === -1 ? url : url.slice(0, q);
    this.search = q === -1 ? '' : url.slice(q + 1);
  }

  /** Answers with JSON the proxy wrote itself, tagged with the request id, and notes status and size for the record. */
  replyJson(status: number, body: string, headers?: Record<string, string>): void {
    this.statusCode = status;
    this.responseBytes = sendJson(this.res, status, body, { 'x-request-id': this.requestId, ...headers });
  }

  /** Answers with the error envelope {code, data: null, message, requestId} and records the outcome. */
  replyError(status: number, message: string, outcome: Outcome, headers?: Record<string, string>): void {
    this.outcome = outcome;
    this.replyJson(status, errorBody(status, message, this.requestId), headers);
  }

  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }
}
