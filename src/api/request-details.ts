import { z } from 'zod';
import type { AuditRecord } from '../audit/record.js';
import type { RequestContext } from '../pipeline/context.js';
import type { AuditStore } from '../store/store.js';
import { isDenial, organizationScope } from './access.js';
import { apiKeyRequestItem } from '../audit/views.js';
import { API_KEY_REQUEST_FIELDS } from './api-key-requests.js';
import { idParam, parseParams } from './params.js';
import { sendApiError, sendApiJson } from './respond.js';

export const requestDetailsParams = z.strictObject({
  requestId: idParam,
  organizationId: idParam.optional(),
});

/** Most records one request id may name (a client may reuse its X-Request-Id). */
const MAX_ITEMS = 20;

/**
 * Everything recorded of one request: the list item's fields plus the captured bodies, masked headers, query,
 * sizes and why it ended as it did. Nothing here was ever a raw credential (the record holds none).
 */
export function requestDetail(r: AuditRecord) {
  return {
    ...apiKeyRequestItem(r),
    action: r.action,
    authError: r.authError,
    country: r.country,
    outcome: r.outcome,
    outcomeDetail: r.outcomeDetail ?? null,
    query: r.query,
    requestBody: r.requestBody,
    requestBodyTruncated: r.requestBodyTruncated,
    requestBytes: r.requestBytes,
    requestHeaders: r.requestHeaders,
    resourceType: r.resourceType,
    responseBody: r.responseBody,
    responseBytes: r.responseBytes,
    ttfbMs: r.ttfbMs,
    workspaceId: r.workspaceId,
  };
}

export const REQUEST_DETAIL_FIELDS = [
  ...API_KEY_REQUEST_FIELDS, 'action', 'authError', 'country', 'outcome', 'outcomeDetail', 'query', 'requestBody',
  'requestBodyTruncated', 'requestBytes', 'requestHeaders', 'resourceType', 'responseBody', 'responseBytes', 'ttfbMs', 'workspaceId',
] as const satisfies readonly (keyof ReturnType<typeof requestDetail>)[];

/** GET /v1/api-keys/requests/details?requestId=...: the full records of one request id in the caller's organization. */
export async function answerRequestDetails(ctx: RequestContext, store: AuditStore): Promise<void> {
  const parsed = parseParams(ctx.search, requestDetailsParams);
  if (!parsed.ok) return sendApiError(ctx, 400, parsed.message);
  const { requestId, organizationId } = parsed.value;
  const scope = organizationScope(ctx.principal, organizationId, 'organizationId');
  if (isDenial(scope)) return sendApiError(ctx, scope.status, scope.message);
  const page = await store.query({ organizationId: scope.organizationId, requestId }, { limit: MAX_ITEMS });
  if (page.items.length === 0) return sendApiError(ctx, 404, `no record with requestId ${requestId} that this credential may read`);
  sendApiJson(ctx, { code: 200, data: { items: page.items.map(requestDetail) }, message: 'success', requestId: ctx.requestId });
}
