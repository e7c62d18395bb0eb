/** The OpenAPI parts of the records and stats endpoints (the viewer's reads): parameters and answer schemas. */

const nullableString = { type: ['string', 'null'] } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const count = { type: 'integer', minimum: 0 } as const;
const ms = { type: 'number', minimum: 0 } as const;

function closedObject(properties: Record<string, unknown>, description: string) {
  return { type: 'object', description, properties, required: Object.keys(properties), additionalProperties: false };
}

function query(name: string, schema: Record<string, unknown>, description: string) {
  return { name, in: 'query', required: false, description, schema };
}

const id = { type: 'string', minLength: 1, maxLength: 512 };
const time = { type: 'string', description: 'ISO 8601 date (UTC midnight) or date-time with a zone; inclusive.' };

export const recordFilterParameters = [
  query('organizationId', id, 'Another organization (audit:read:all only); absent: own organization, or all with audit:read:all.'),
  query('serviceAccountId', id, 'Filter by service account ID.'),
  query('apiKeyId', id, 'Filter by API key ID.'),
  query('userId', id, 'Filter by user ID.'),
  query('method', { type: 'string', pattern: '^[A-Za-z]{1,20}$' }, 'Filter by HTTP method, case-insensitive.'),
  query('statusCode', { type: 'integer', minimum: 0, maximum: 599 }, 'Filter by response status.'),
  query('statusClass', { type: 'string', enum: ['1xx', '2xx', '3xx', '4xx', '5xx'] }, 'Filter by status class.'),
  query('path', { type: 'string', pattern: '^/' }, 'Filter by exact path.'),
  query('routePattern', id, 'Filter by route pattern, e.g. /users/{id}.'),
  query('from', time, 'Earliest createdAt.'),
  query('to', time, 'Latest createdAt.'),
];

export const recordsParameters = [
  ...recordFilterParameters,
  query('limit', { type: 'integer', minimum: 1, maximum: 100, default: 50 }, 'Most records in the page.'),
  query('cursor', { type: 'string' }, 'data.nextCursor of the previous page, with the same filters.'),
];

export const statsParameters = [
  ...recordFilterParameters,
  query('bucket', { type: 'string', pattern: '^[1-9][0-9]{0,4}[mhd]$' },
    'Bucket width (5m, 1h, 1d); default the first of 1m, 5m, 15m, 1h, 6h, 1d, 7d giving at most 120 buckets. At most 1,440 buckets.'),
];

const record = closedObject({
  id: { type: 'string' }, requestId: { type: 'string' }, createdAt: dateTime, method: { type: 'string' }, path: { type: 'string' },
  query: { type: 'object', additionalProperties: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } },
  routePattern: { type: 'string' }, resourceType: { type: 'string' }, action: { type: 'string' }, statusCode: count,
  outcome: { type: 'string', enum: ['completed', 'upstream_error', 'upstream_timeout', 'client_aborted', 'rejected'] },
  durationMs: ms, ttfbMs: { type: ['number', 'null'] }, requestBytes: count, responseBytes: count,
  clientIp: { type: 'string' }, country: nullableString, userAgent: nullableString,
  principalType: { type: 'string', enum: ['api_key', 'user', 'service_account', 'anonymous'] }, principalId: nullableString,
  apiKeyId: nullableString, serviceAccountId: nullableString, userId: nullableString, organizationId: nullableString,
  workspaceId: nullableString, authError: nullableString,
  requestHeaders: { type: 'object', additionalProperties: { type: 'string' }, description: 'Credentials masked to a hint.' },
  requestBody: { ...nullableString, description: 'Redacted and capped; null when not captured.' }, requestBodyTruncated: { type: 'boolean' },
  responseBody: nullableString, upstream: { type: 'string' },
}, 'One whole record, as stored (nothing in it is a raw credential).');

const bucket = closedObject({
  start: dateTime,
  count,
  status: closedObject({ none: count, '1xx': count, '2xx': count, '3xx': count, '4xx': count, '5xx': count },
    'Requests by status class; none: the client left before a status.'),
  durationMs: {
    anyOf: [{ type: 'null' }, closedObject({ p50: ms, p95: ms, p99: ms }, 'Duration percentiles, within 9% (log-scale histogram).')],
  },
}, 'One time bucket [start, start + bucketMs).');

function envelope(data: unknown, description: string) {
  return closedObject({ code: { type: 'integer', const: 200 }, data, message: { type: 'string', const: 'success' }, requestId: { type: 'string' } }, description);
}

export const statsSchemas = {
  AuditRecord: record,
  AuditRecords: envelope(closedObject({
    items: { type: 'array', items: { $ref: '#/components/schemas/AuditRecord' }, maxItems: 100 },
    hasMore: { type: 'boolean' },
    limit: { type: 'integer', minimum: 1, maximum: 100 },
    nextCursor: { ...nullableString, description: 'Pass as cursor for the next page; null on the last page.' },
  }, 'A page, newest first; fewer than limit items with hasMore when a status class or route search ran out of its time budget.'),
  'GET audit-logs/records answer.'),
  AuditStats: envelope(closedObject({
    from: dateTime, to: dateTime, bucketMs: { type: 'integer', minimum: 60_000 },
    source: { type: 'string', enum: ['rollup', 'scan', 'rollup+scan'], description: 'The per-minute rollup, a record scan, or both.' },
    complete: { type: 'boolean', description: 'False when a scan ran out of its 1 s budget; coveredFrom says how far back it got.' },
    coveredFrom: dateTime,
    buckets: { type: 'array', items: bucket, maxItems: 1_440 },
  }, 'Buckets aligned to multiples of bucketMs since the epoch, oldest first.'), 'GET audit-logs/stats answer.'),
};
