import { z } from 'zod';
import type { PrincipalType } from '../principal/principal.js';
import type { RequestContext } from '../pipeline/context.js';
import type { AuditFilter, AuditStore } from '../store/store.js';
import type { Config } from '../config/schema.js';
import { isDenial, organizationScope, type Denial } from './access.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { idParam, integerParam, methodParam, parseParams, pathParam, statusParam, timeParam } from './params.js';
import { sendApiError, sendApiJsonText } from './respond.js';
import { jsonArray } from './view-pages.js';
import { isStoreCursor, queryUnion, storeCursorAfter, type UnionPage } from './union.js';

/** Which records answer when no method is asked for (config audit.auditLogsMethods). */
export type MethodScope = Config['audit']['auditLogsMethods'];

/** The methods in Portkey's `method` enum: its audit log records state-changing calls only. */
export const PORTKEY_METHODS = ['POST', 'PUT', 'DELETE'] as const;

/** Portkey's filters, shared by /audit-logs and its export. */
export const auditLogFilterParams = {
  start_time: timeParam.optional(),
  end_time: timeParam.optional(),
  organisation_id: idParam.optional(),
  method: methodParam.optional(),
  uri: pathParam.optional(),
  request_id: idParam.optional(),
  user_id: idParam.optional(),
  user_type: z.enum(['user', 'api_key'], 'must be user or api_key').optional(),
  workspace_id: idParam.optional(),
  response_status_code: statusParam.optional(),
  resource_type: idParam.optional(),
  action: idParam.optional(),
  client_ip: idParam.optional(),
  country: idParam.optional(),
};

export const auditLogsParams = z.strictObject({
  ...auditLogFilterParams,
  current_page: integerParam(0).default(0),
  page_size: integerParam(0, 100).default(20),
  cursor: z.string().min(1, 'must not be empty').max(1024, 'must be at most 1024 characters').optional(),
});

type FilterParams = z.output<z.ZodObject<typeof auditLogFilterParams>>;

const PRINCIPAL_TYPES_OF: Record<'user' | 'api_key', PrincipalType[]> = { user: ['user'], api_key: ['api_key', 'service_account'] };
const ID_FIELD_OF: Partial<Record<PrincipalType, 'userId' | 'apiKeyId' | 'serviceAccountId'>> = {
  user: 'userId', api_key: 'apiKeyId', service_account: 'serviceAccountId',
};

/**
 * The store filters whose union is what the parameters ask for: user_type and user_id may each match several
 * principal types, and the portkey method scope three methods, which the store (ANDing its filters) answers one
 * (disjoint) combination at a time.
 */
function auditLogFilters(p: FilterParams, organizationId: string | undefined, scope: MethodScope): AuditFilter[] {
  const base: AuditFilter = {
    organizationId, fromMs: p.start_time, toMs: p.end_time, path: p.uri, requestId: p.request_id,
    workspaceId: p.workspace_id, statusCode: p.response_status_code, resourceType: p.resource_type, action: p.action,
    clientIp: p.client_ip, country: p.country,
  };
  const methods: readonly (string | undefined)[] = p.method !== undefined ? [p.method] : scope === 'portkey' ? PORTKEY_METHODS : [undefined];
  return methods.flatMap((method) => principalFilters(p, { ...base, method }));
}

function principalFilters(p: FilterParams, base: AuditFilter): AuditFilter[] {
  if (p.user_type === undefined && p.user_id === undefined) return [base];
  const types: readonly PrincipalType[] = p.user_type ? PRINCIPAL_TYPES_OF[p.user_type] : ['user', 'api_key', 'service_account'];
  return types.map((principalType) => ({
    ...base,
    principalType,
    ...(p.user_id !== undefined && { [ID_FIELD_OF[principalType]!]: p.user_id }),
  }));
}

/** Parameters shared by the listing and the export, checked together: end before start, the organization. */
export function scopedAuditLogFilters(ctx: RequestContext, p: FilterParams, scope: MethodScope): AuditFilter[] | Denial {
  if (p.start_time !== undefined && p.end_time !== undefined && p.end_time < p.start_time) {
    return { status: 400, message: 'end_time must not be before start_time' };
  }
  const organization = organizationScope(ctx.principal, p.organisation_id, 'organisation_id');
  return isDenial(organization) ? organization : auditLogFilters(p, organization.organizationId, scope);
}

/**
 * What an API cursor is bound to: the whole union, written as one filter (never sent to the store), so a cursor
 * replayed with another user_type, user_id or method scope is refused like one replayed with other filters.
 */
function cursorBinding(filters: readonly AuditFilter[]): AuditFilter {
  const distinct = (pick: (f: AuditFilter) => string | undefined) => [...new Set(filters.map(pick))].join(',') || undefined;
  return {
    ...filters[0], method: distinct((f) => f.method), principalType: distinct((f) => f.principalType),
    userId: distinct((f) => f.userId ?? f.apiKeyId ?? f.serviceAccountId), apiKeyId: undefined, serviceAccountId: undefined,
  };
}

/**
 * GET /v1/audit-logs: Portkey's {records, total} plus next_cursor, newest first, total across every page.
 * Pages by current_page (offset) or by cursor (stable while new records arrive).
 */
export async function answerAuditLogs(ctx: RequestContext, store: AuditStore, cursors: Buffer, scope: MethodScope): Promise<void> {
  const parsed = parseParams(ctx.search, auditLogsParams);
  if (!parsed.ok) return sendApiError(ctx, 400, parsed.message);
  const p = parsed.value;
  if (p.cursor !== undefined && p.current_page !== 0) return sendApiError(ctx, 400, 'current_page must be 0 or absent when cursor is given');
  const filters = scopedAuditLogFilters(ctx, p, scope);
  if (isDenial(filters)) return sendApiError(ctx, filters.status, filters.message);
  const binding = cursorBinding(filters);
  const page = await readPage(store, filters, p, binding, cursors);
  if (page === null) return sendApiError(ctx, 400, 'cursor is not valid for these filters (pass next_cursor unchanged, with the same filters)');
  const records = page.items.slice(0, p.page_size);
  const last = records.at(-1);
  const nextCursor = page.hasMore && last ? encodeCursor(binding, storeCursorAfter(last), cursors) : null;
  sendApiJsonText(ctx, `{"records":${jsonArray(records)},"total":${page.total},"next_cursor":${JSON.stringify(nextCursor)}}`);
}

/** The page the parameters ask for, or null for a cursor that is not this query's. */
async function readPage(store: AuditStore, filters: AuditFilter[], p: z.output<typeof auditLogsParams>, binding: AuditFilter, cursors: Buffer): Promise<UnionPage | null> {
  // The store is asked for at least one record: page_size 0 still wants the total.
  const limit = Math.max(p.page_size, 1);
  if (p.cursor === undefined) {
    return queryUnion(store, filters, limit, { offset: Math.min(p.current_page * p.page_size, Number.MAX_SAFE_INTEGER) }, 'auditLogs');
  }
  const storeCursor = decodeCursor(binding, p.cursor, cursors);
  if (storeCursor === null || !isStoreCursor(storeCursor)) return null;
  return queryUnion(store, filters, limit, { cursor: storeCursor }, 'auditLogs');
}
