import type { AppendedRecord } from '../audit/raw-body.js';
import type { AuditRecord } from '../audit/record.js';

/** Strings of a reduced record are cut to this many characters. */
const MAX_CHARS = 1_024;

/**
 * Whether a write failed for the shape of a record rather than for the store (an encoder's TypeError or RangeError,
 * a key too long): retrying the same batch would fail the same way, and hold up every record behind it.
 */
export function isRecordError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError || (error instanceof Error && /key size/i.test(error.message));
}

const REDUCED = 'stored reduced';

export function isReduced(record: AuditRecord): boolean {
  return record.outcomeDetail?.startsWith(REDUCED) === true;
}

/** Identity and target stay whole (keys hold long ones by hash): cutting them would misattribute the request. */
function plainOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** Free text (user agent, errors) is cut. */
function cut(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value).slice(0, MAX_CHARS);
}

/**
 * What is kept of a record the store could not hold: who, what, when and how it went, as plain strings and numbers,
 * without its query, headers and bodies; why is said in outcomeDetail. A request that reached the upstream is
 * never left out of the trail for the shape of its record.
 */
export function reducedRecord(record: AppendedRecord, error: unknown): AuditRecord {
  const why = error instanceof Error ? error.message : String(error);
  return {
    id: String(record.id), requestId: String(record.requestId), createdAt: String(record.createdAt),
    method: String(record.method), path: String(record.path), query: {}, routePattern: String(record.routePattern),
    resourceType: String(record.resourceType), action: String(record.action), statusCode: Number(record.statusCode) || 0,
    outcome: String(record.outcome) as AuditRecord['outcome'], outcomeDetail: cut(`${REDUCED} (${why}); was: ${plainOrNull(record.outcomeDetail) ?? 'none'}`),
    durationMs: Number(record.durationMs) || 0, ttfbMs: record.ttfbMs === null ? null : Number(record.ttfbMs) || 0,
    requestBytes: Number(record.requestBytes) || 0, responseBytes: Number(record.responseBytes) || 0,
    clientIp: String(record.clientIp), country: plainOrNull(record.country), userAgent: cut(record.userAgent),
    principalType: String(record.principalType) as AuditRecord['principalType'], principalId: plainOrNull(record.principalId),
    apiKeyId: plainOrNull(record.apiKeyId), serviceAccountId: plainOrNull(record.serviceAccountId), userId: plainOrNull(record.userId),
    organizationId: plainOrNull(record.organizationId), workspaceId: plainOrNull(record.workspaceId), authError: cut(record.authError),
    requestHeaders: {}, requestBody: null, requestBodyTruncated: record.requestBody !== null || record.rawBodies?.request !== undefined, responseBody: null,
    upstream: String(record.upstream),
  };
}
