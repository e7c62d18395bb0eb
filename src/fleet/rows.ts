import type { AuditRecord } from '../audit/record.js';
import type { AuditFilter } from '../store/store.js';

/** Stored for records without an organization (as in LMDB), so they still sit in the organization indexes. */
export const NO_ORGANIZATION = '';

/** Filter fields with a column of their own, and that column's name. */
export const FILTER_COLUMNS = {
  organizationId: 'organization_id',
  requestId: 'request_id',
  apiKeyId: 'api_key_id',
  serviceAccountId: 'service_account_id',
  userId: 'user_id',
  statusCode: 'status_code',
  method: 'method',
  path: 'path',
  principalType: 'principal_type',
  workspaceId: 'workspace_id',
  resourceType: 'resource_type',
  action: 'action',
  clientIp: 'client_ip',
  country: 'country',
} as const satisfies Record<Exclude<keyof AuditFilter, 'fromMs' | 'toMs'>, string>;

/** Columns in COPY order: the filter columns, the time, who shipped it, and the whole record. */
export const COPY_COLUMNS = ['id', 'created_at', 'node_id', 'seq', ...Object.values(FILTER_COLUMNS), 'record'] as const;

/** The record as one line of COPY text format (tab-separated, \N for null). */
export function copyLine(record: AuditRecord, nodeId: string): string {
  const cells: (string | number | null)[] = [
    record.id, record.createdAt, nodeId, record.seq ?? 0,
    record.organizationId ?? NO_ORGANIZATION, record.requestId, record.apiKeyId, record.serviceAccountId, record.userId,
    record.statusCode, record.method.toUpperCase(), record.path, record.principalType, record.workspaceId,
    record.resourceType, record.action, record.clientIp, record.country,
  ];
  return `${cells.map(copyCell).join('\t')}\t${copyText(JSON.stringify(record))}\n`;
}

function copyCell(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  // PostgreSQL text cannot hold NUL; the record column keeps the exact value (json escapes it).
  return copyText(value.replaceAll('\0', '\uFFFD'));
}

/** COPY text-format escaping: backslash, and the tab, newline and carriage return that delimit. */
function copyText(text: string): string {
  return /[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : text;
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
