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

/** Columns in COPY order: the filter columns, the time, who shipped it, the whole record and its stored bytes. */
export const COPY_COLUMNS = ['id', 'created_at', 'node_id', 'seq', ...Object.values(FILTER_COLUMNS), 'record', 'stored'] as const;

/** The record as one line of COPY text format (tab-separated, \N for null). */
export function copyLine(record: AuditRecord, nodeId: string, stored: Uint8Array | undefined): string {
  return `${copyCell(record.id)}\t${copyCell(record.createdAt)}\t${copyCell(nodeId)}\t${record.seq ?? 0}\t`
    + `${copyCell(record.organizationId ?? NO_ORGANIZATION)}\t${copyCell(record.requestId)}\t${copyCell(record.apiKeyId)}\t`
    + `${copyCell(record.serviceAccountId)}\t${copyCell(record.userId)}\t${record.statusCode}\t${copyCell(record.method.toUpperCase())}\t`
    + `${copyCell(record.path)}\t${copyCell(record.principalType)}\t${copyCell(record.workspaceId)}\t${copyCell(record.resourceType)}\t`
    + `${copyCell(record.action)}\t${copyCell(record.clientIp)}\t${copyCell(record.country)}\t${copyJson(JSON.stringify(record))}\t${copyBytes(stored)}\n`;
}

/** bytea in hex form; its backslash doubled for COPY text format. */
function copyBytes(stored: Uint8Array | undefined): string {
  return stored === undefined ? '\\N' : `\\\\x${Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength).toString('hex')}`;
}

/** Characters COPY text format must escape (and NUL, which PostgreSQL text cannot hold). */
const NEEDS_ESCAPE = /[\\\t\n\r\0]/;

function copyCell(value: string | null): string {
  if (value === null) return '\\N';
  if (!NEEDS_ESCAPE.test(value)) return value;
  // PostgreSQL text cannot hold NUL; the record column keeps the exact value (json escapes it).
  return copyText(value.replaceAll('\0', '\uFFFD'));
}

/** JSON text holds no raw control characters (JSON.stringify escapes them), so only its backslashes need doubling. */
function copyJson(json: string): string {
  return json.includes('\\') ? json.replaceAll('\\', '\\\\') : json;
}

/** COPY text-format escaping: backslash, and the tab, newline and carriage return that delimit. */
function copyText(text: string): string {
  return text.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!);
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
