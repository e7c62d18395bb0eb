import type { AuditFilter, FilterField } from '../store/store.js';
import { keyValue } from '../audit/key-value.js';

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
} as const satisfies Record<FilterField, string>;

/** Columns in COPY order (copy-binary.ts writes them so): the id, the time, who shipped it, the filter columns, the whole record and its stored bytes. */
export const COPY_COLUMNS = ['id', 'created_at', 'node_id', 'seq', ...Object.values(FILTER_COLUMNS), 'record', 'stored'] as const;

/** The filter with its values as the filter columns hold them (key-value.ts; methods uppercase). */
export function keyedFilter(filter: AuditFilter): AuditFilter {
  const keyed: Record<string, unknown> = { ...filter };
  for (const field of Object.keys(FILTER_COLUMNS)) {
    const value = keyed[field];
    if (typeof value === 'string') keyed[field] = keyValue(field === 'method' ? value.toUpperCase() : value);
  }
  return keyed as AuditFilter;
}
