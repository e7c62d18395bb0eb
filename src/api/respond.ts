import { errorBody, sendJson } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';

/** Answers with the proxy's error envelope {code, data: null, message, requestId} and notes it for the record. */
export function sendApiError(ctx: RequestContext, status: number, message: string, headers?: Record<string, string>): void {
  ctx.statusCode = status;
  ctx.outcome = 'rejected';
  ctx.responseBytes = sendJson(ctx.res, status, errorBody(status, message, ctx.requestId), { 'x-request-id': ctx.requestId, ...headers });
}

/** Answers 200 with a JSON body and notes it for the record. */
export function sendApiJson(ctx: RequestContext, body: unknown): void {
  ctx.statusCode = 200;
  ctx.responseBytes = sendJson(ctx.res, 200, JSON.stringify(body), { 'x-request-id': ctx.requestId });
}
