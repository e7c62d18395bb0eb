import { z } from 'zod';
import type { AuditRecord } from '../audit/record.js';
import type { RequestContext } from '../pipeline/context.js';
import { encodeCursor as encodeStoreCursor } from '../store/cursor.js';
import type { AuditFilter, AuditStore } from '../store/store.js';
import { isDenial } from './access.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { integerParam, parseParams } from './params.js';
import { recordFilterParams, recordSelection } from './record-filters.js';
import { sendApiError, sendApiJson } from './respond.js';
import { recordTimeMs } from '../audit/iso-time.js';

export const auditRecordsParams = z.strictObject({
  ...recordFilterParams,
  limit: integerParam(1, 100).default(50),
  cursor: z.string().min(1, 'must not be empty').optional(),
});

/** Records read per store page when a status class or route must be checked record by record. */
const CHECK_CHUNK = 256;
/** A sparse status class or route is searched at most this long per page; the cursor continues the search. */
const SEARCH_BUDGET_MS = 250;

interface Found {
  items: AuditRecord[];
  /** Where the next page starts (after the last item, or after the last record searched); null: no more. */
  resumeAt: AuditRecord | null;
}

/**
 * Up to `limit` matches from `cursor` on, reading the store page by page (its cursor, its indexes) and checking
 * what it cannot filter; a search that runs out of budget returns what it found and where to resume.
 */
async function findPage(store: AuditStore, filter: AuditFilter, match: ((r: AuditRecord) => boolean) | null, limit: number, cursor: string | undefined): Promise<Found> {
  const items: AuditRecord[] = [];
  const deadline = performance.now() + SEARCH_BUDGET_MS;
  for (let next = cursor; ;) {
    const page = await store.query(filter, { limit: match ? CHECK_CHUNK : limit + 1, cursor: next });
    for (const record of page.items) {
      if (match && !match(record)) continue;
      if (items.length === limit) return { items, resumeAt: items[limit - 1]! };
      items.push(record);
    }
    if (!page.hasMore || page.nextCursor === null) return { items, resumeAt: null };
    next = page.nextCursor;
    if (performance.now() > deadline) return { items, resumeAt: page.items[page.items.length - 1]! };
  }
}

/** A record as the API shows it: every stored field the OpenAPI document names (nothing internal, such as seq). */
export function recordView(r: AuditRecord) {
  return {
    id: r.id, requestId: r.requestId, createdAt: r.createdAt, method: r.method, path: r.path, query: r.query,
    routePattern: r.routePattern, resourceType: r.resourceType, action: r.action, statusCode: r.statusCode, outcome: r.outcome,
    durationMs: r.durationMs, ttfbMs: r.ttfbMs, requestBytes: r.requestBytes, responseBytes: r.responseBytes, clientIp: r.clientIp,
    country: r.country, userAgent: r.userAgent, principalType: r.principalType, principalId: r.principalId, apiKeyId: r.apiKeyId,
    serviceAccountId: r.serviceAccountId, userId: r.userId, organizationId: r.organizationId, workspaceId: r.workspaceId,
    authError: r.authError, requestHeaders: r.requestHeaders, requestBody: r.requestBody, requestBodyTruncated: r.requestBodyTruncated,
    responseBody: r.responseBody, upstream: r.upstream,
  };
}

/** GET /v1/audit-logs/records: whole records (headers masked, bodies redacted) newest first, cursor-paged. */
export async function answerAuditRecords(ctx: RequestContext, store: AuditStore, cursors: Buffer): Promise<void> {
  const parsed = parseParams(ctx.search, auditRecordsParams);
  if (!parsed.ok) return sendApiError(ctx, 400, parsed.message);
  const p = parsed.value;
  const selection = recordSelection(ctx, p);
  if (isDenial(selection)) return sendApiError(ctx, selection.status, selection.message);
  const storeCursor = p.cursor === undefined ? undefined : decodeCursor(selection.digest, p.cursor, cursors);
  if (storeCursor === null) return sendApiError(ctx, 400, 'cursor is not valid for these filters (pass data.nextCursor unchanged, with the same filters)');
  const found = await findPage(store, selection.filter, selection.match, p.limit, storeCursor);
  const resume = found.resumeAt && encodeStoreCursor({ ms: recordTimeMs(found.resumeAt.createdAt), id: found.resumeAt.id });
  sendApiJson(ctx, {
    code: 200,
    data: { items: found.items.map(recordView), hasMore: resume !== null, limit: p.limit, nextCursor: encodeCursor(selection.digest, resume, cursors) },
    message: 'success',
    requestId: ctx.requestId,
  });
}
