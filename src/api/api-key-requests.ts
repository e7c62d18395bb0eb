import { z } from 'zod';
import { apiKeyRequestItem } from '../audit/views.js';
import type { RequestContext } from '../pipeline/context.js';
import type { AuditStore } from '../store/store.js';
import { isDenial, organizationScope } from './access.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { integerParam, parseParams, storeFilter, storeFilterParams } from './params.js';
import { sendApiError, sendApiJsonText } from './respond.js';
import { jsonArray, queryView } from './view-pages.js';

export const apiKeyRequestsParams = z.strictObject({
  limit: integerParam(1, 100).default(20),
  offset: integerParam(0).default(0),
  cursor: z.string().min(1, 'must not be empty').optional(),
  ...storeFilterParams,
});

export type ApiKeyRequestsParams = z.output<typeof apiKeyRequestsParams>;

export const API_KEY_REQUEST_FIELDS = [
  'apiKeyId', 'clientIp', 'createdAt', 'durationMs', 'id', 'method', 'organizationId', 'path', 'principalId', 'principalType',
  'requestId', 'routePattern', 'serviceAccountId', 'statusCode', 'userAgent', 'userId',
] as const satisfies readonly (keyof ReturnType<typeof apiKeyRequestItem>)[];

/** Problems no single parameter shows: a cursor with an offset, a time range ending before it starts. */
function crossCheck(p: ApiKeyRequestsParams): string | null {
  if (p.cursor !== undefined && p.offset !== 0) return 'offset must be 0 or absent when cursor is given';
  if (p.from !== undefined && p.to !== undefined && p.to < p.from) return 'to must not be before from';
  return null;
}

/** GET /v1/api-keys/requests: a page of the caller's organization's requests, newest first. */
export async function answerApiKeyRequests(ctx: RequestContext, store: AuditStore, cursors: Buffer): Promise<void> {
  const parsed = parseParams(ctx.search, apiKeyRequestsParams);
  if (!parsed.ok) return sendApiError(ctx, 400, parsed.message);
  const p = parsed.value;
  const problem = crossCheck(p);
  if (problem) return sendApiError(ctx, 400, problem);
  const scope = organizationScope(ctx.principal, p.organizationId, 'organizationId');
  if (isDenial(scope)) return sendApiError(ctx, scope.status, scope.message);
  const filter = storeFilter(p, scope.organizationId);
  const storeCursor = p.cursor === undefined ? undefined : decodeCursor(filter, p.cursor, cursors);
  if (storeCursor === null) return sendApiError(ctx, 400, 'cursor is not valid for these filters (pass data.nextCursor unchanged, with the same filters)');
  const page = await queryView(store, filter, { limit: p.limit, offset: p.offset, cursor: storeCursor }, 'apiKeyRequests');
  // The envelope written out around the items the reader thread serialized (the seed's field order).
  const nextCursor = JSON.stringify(encodeCursor(filter, page.nextCursor, cursors));
  sendApiJsonText(ctx, `{"code":200,"data":{"hasMore":${page.hasMore},"items":${jsonArray(page.items)},"limit":${p.limit},`
    + `"offset":${p.offset},"nextCursor":${nextCursor}},"message":"success","requestId":${JSON.stringify(ctx.requestId)}}`);
}
