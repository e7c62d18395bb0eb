import { z } from 'zod';
import type { AuditRecord } from '../audit/record.js';
import type { PrincipalType } from '../principal/principal.js';
import type { RequestContext } from '../pipeline/context.js';
import type { AuditFilter, AuditStore } from '../store/store.js';
import { isDenial, organizationScope, type Denial } from './access.js';
import { idParam, integerParam, methodParam, parseParams, pathParam, statusParam, timeParam } from './params.js';
import { sendApiError, sendApiJson } from './respond.js';
import { queryUnion } from './union.js';

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
});

type FilterParams = z.output<z.ZodObject<typeof auditLogFilterParams>>;

/** Portkey's user_type: `user` for users, `api_key` for API keys and service accounts; null for the anonymous. */
export function userType(principalType: PrincipalType): 'user' | 'api_key' | null {
  if (principalType === 'user') return 'user';
  return principalType === 'anonymous' ? null : 'api_key';
}

/** One Portkey record; request_body is null when the body was not captured, "" when it was empty. */
export function auditLogRecord(r: AuditRecord) {
  return {
    timestamp: r.createdAt,
    method: r.method,
    uri: r.path,
    request_id: r.requestId,
    request_body: r.requestBody,
    query_params: JSON.stringify(r.query),
    request_headers: JSON.stringify(r.requestHeaders),
    // Portkey's user_id is whoever made the call: the user, or the API key (service account) for user_type api_key.
    user_id: r.principalType === 'anonymous' ? null : r.principalId,
    user_type: userType(r.principalType),
    organisation_id: r.organizationId,
    workspace_id: r.workspaceId,
    response_status_code: r.statusCode,
    resource_type: r.resourceType,
    action: r.action,
    client_ip: r.clientIp || null,
    country: r.country,
  };
}

const PRINCIPAL_TYPES_OF: Record<'user' | 'api_key', PrincipalType[]> = { user: ['user'], api_key: ['api_key', 'service_account'] };
const ID_FIELD_OF: Partial<Record<PrincipalType, 'userId' | 'apiKeyId' | 'serviceAccountId'>> = {
  user: 'userId', api_key: 'apiKeyId', service_account: 'serviceAccountId',
};

/**
 * The store filters whose union is what the parameters ask for: user_type and user_id may each match
 * several principal types, which the store (ANDing its filters) answers one type at a time.
 */
export function auditLogFilters(p: FilterParams, organizationId: string | undefined): AuditFilter[] {
  const base: AuditFilter = {
    organizationId, fromMs: p.start_time, toMs: p.end_time, method: p.method, path: p.uri, requestId: p.request_id,
    workspaceId: p.workspace_id, statusCode: p.response_status_code, resourceType: p.resource_type, action: p.action,
    clientIp: p.client_ip, country: p.country,
  };
  if (p.user_type === undefined && p.user_id === undefined) return [base];
  const types: readonly PrincipalType[] = p.user_type ? PRINCIPAL_TYPES_OF[p.user_type] : ['user', 'api_key', 'service_account'];
  return types.map((principalType) => ({
    ...base,
    principalType,
    ...(p.user_id !== undefined && { [ID_FIELD_OF[principalType]!]: p.user_id }),
  }));
}

/** Parameters shared by the listing and the export, checked together: end before start, the organization. */
export function scopedAuditLogFilters(ctx: RequestContext, p: FilterParams): AuditFilter[] | Denial {
  if (p.start_time !== undefined && p.end_time !== undefined && p.end_time < p.start_time) {
    return { status: 400, message: 'end_time must not be before start_time' };
  }
  const scope = organizationScope(ctx.principal, p.organisation_id, 'organisation_id');
  return isDenial(scope) ? scope : auditLogFilters(p, scope.organizationId);
}

/** GET /v1/audit-logs: Portkey's {records, total}, newest first, total across every page. */
export async function answerAuditLogs(ctx: RequestContext, store: AuditStore): Promise<void> {
  const parsed = parseParams(ctx.search, auditLogsParams);
  if (!parsed.ok) return sendApiError(ctx, 400, parsed.message);
  const p = parsed.value;
  const filters = scopedAuditLogFilters(ctx, p);
  if (isDenial(filters)) return sendApiError(ctx, filters.status, filters.message);
  const offset = Math.min(p.current_page * p.page_size, Number.MAX_SAFE_INTEGER);
  // The store is asked for at least one record: page_size 0 still wants the total.
  const page = await queryUnion(store, filters, Math.max(p.page_size, 1), offset);
  sendApiJson(ctx, { records: page.items.slice(0, p.page_size).map(auditLogRecord), total: page.total });
}
