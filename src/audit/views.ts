import type { PrincipalType } from '../principal/principal-type.js';
import type { AuditRecord } from './record.js';

/**
 * How the audit endpoints show a record, here below the store so that its reader threads can serialize a page where
 * they read it: a page crosses back to the event loop as JSON text, not as objects to clone and serialize again.
 */

/** GET /v1/api-keys/requests: exactly the seed's sixteen fields, in its order; null where unknown, integers where it says integer. */
export function apiKeyRequestItem(r: AuditRecord) {
  return {
    apiKeyId: r.apiKeyId,
    clientIp: r.clientIp || null,
    createdAt: r.createdAt,
    durationMs: Math.round(r.durationMs),
    id: r.id,
    method: r.method,
    organizationId: r.organizationId,
    path: r.path,
    principalId: r.principalId,
    principalType: r.principalType,
    requestId: r.requestId,
    routePattern: r.routePattern,
    serviceAccountId: r.serviceAccountId,
    statusCode: r.statusCode,
    userAgent: r.userAgent,
    userId: r.userId,
  };
}

/** Portkey's user_type: `user` for users, `api_key` for API keys and service accounts; null for the anonymous. */
export function userType(principalType: PrincipalType): 'user' | 'api_key' | null {
  if (principalType === 'user') return 'user';
  return principalType === 'anonymous' ? null : 'api_key';
}

/** GET /v1/audit-logs: one Portkey record; request_body is null when the body was not captured, "" when it was empty. */
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

const VIEWS = { apiKeyRequests: apiKeyRequestItem, auditLogs: auditLogRecord };

/** The views a reader thread can serialize a page in. */
export type RecordView = keyof typeof VIEWS;

/** The record as the view shows it, as JSON text. */
export function viewJson(record: AuditRecord, view: RecordView): string {
  return JSON.stringify(VIEWS[view](record));
}
