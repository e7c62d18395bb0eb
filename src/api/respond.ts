import type { RequestContext } from '../pipeline/context.js';

/** Answers with the proxy's error envelope {code, data: null, message, requestId} and notes it for the record. */
export function sendApiError(ctx: RequestContext, status: number, message: string, headers?: Record<string, string>): void {
  ctx.replyError(status, message, 'rejected', headers);
}

/** Answers 200 with a JSON body and notes it for the record. */
export function sendApiJson(ctx: RequestContext, body: unknown): void {
  ctx.replyJson(200, JSON.stringify(body));
}

/** Answers 200 with JSON text already serialized, and notes it for the record. */
export function sendApiJsonText(ctx: RequestContext, json: string): void {
  ctx.replyJson(200, json);
}
