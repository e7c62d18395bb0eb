import type { Config } from '../config/schema.js';
import { CHECKPOINT_PATH, PROOF_PATH } from './chain.js';
import { componentSchemas } from './openapi-schemas.js';
import { recordsParameters, statsParameters, statsSchemas } from './openapi-stats.js';

type Schema = Record<string, unknown>;

const id = { type: 'string', minLength: 1, maxLength: 512 };
const time = { type: 'string', description: 'ISO 8601 date (UTC midnight) or date-time, extended or basic format (2026-11-23T11:21:44Z, 20261123T112144Z); no zone means UTC; inclusive.' };
const method = { type: 'string', pattern: '^[A-Za-z]{1,20}$', description: 'Any HTTP method, case-insensitive.' };
const status = { type: 'integer', minimum: 0, maximum: 599 };
const path = { type: 'string', pattern: '^/' };

function query(name: string, schema: Schema, description: string) {
  return { name, in: 'query', required: false, description, schema };
}

const apiKeyRequestsParameters = [
  query('limit', { type: 'integer', minimum: 1, maximum: 100, default: 20 }, 'Number of items (default 20, max 100).'),
  query('offset', { type: 'integer', minimum: 0, default: 0 }, 'Offset for pagination (default 0); 0 with a cursor.'),
  query('cursor', { type: 'string' }, 'data.nextCursor of the previous page: deep paging at constant cost.'),
  query('organizationId', id, 'Another organization (audit:read:all only); absent: own organization, or all with audit:read:all.'),
  query('serviceAccountId', id, 'Filter by service account ID.'),
  query('apiKeyId', id, 'Filter by API key ID.'),
  query('userId', id, 'Filter by user ID.'),
  query('method', method, 'Filter by HTTP method.'),
  query('statusCode', status, 'Filter by response status.'),
  query('path', path, 'Filter by exact path.'),
  query('from', time, 'Earliest createdAt.'),
  query('to', time, 'Latest createdAt.'),
];

const auditLogFilterParameters = [
  query('start_time', time, 'Start time for filtering logs; default: all time.'),
  query('end_time', time, 'End time for filtering logs; must not be before start_time.'),
  query('organisation_id', id, 'Organisation ID; default the caller\'s; another needs audit:read:all.'),
  query('method', method, 'HTTP method for filtering logs; absent: every method, or POST, PUT, DELETE under audit.auditLogsMethods portkey.'),
  query('uri', path, 'URI path for filtering logs (exact).'),
  query('request_id', id, 'Request ID for filtering logs.'),
  query('user_id', id, 'User ID (or API key / service account ID) for filtering logs.'),
  query('user_type', { type: 'string', enum: ['user', 'api_key'] }, 'Type of user for filtering logs.'),
  query('workspace_id', id, 'Workspace ID for filtering logs.'),
  query('response_status_code', status, 'HTTP response status code for filtering logs.'),
  query('resource_type', id, 'Resource type for filtering logs.'),
  query('action', id, 'Action type for filtering logs.'),
  query('client_ip', id, 'Client IP address for filtering logs.'),
  query('country', id, 'Country for filtering logs.'),
];

function jsonResponse(description: string, schema: string) {
  return { description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } } };
}

const errors = {
  400: jsonResponse('A bad parameter: the message names it and its rule.', 'Error'),
  401: { ...jsonResponse('No accepted credential.', 'Error'), headers: { 'WWW-Authenticate': { schema: { type: 'string' } } } },
  403: jsonResponse('No audit:read scope, or another organization without audit:read:all.', 'Error'),
  405: { ...jsonResponse('Only GET and HEAD.', 'Error'), headers: { Allow: { schema: { type: 'string' } } } },
  503: jsonResponse('The store is disabled, the query ran past audit.queryTimeoutMs (the message names the budget), or its reader failed.', 'Error'),
  404: jsonResponse('No record (details: none with that request id that the caller may read).', 'Error'),
};

const security = [{ bearer: [] }, { apiKey: [] }, { portkeyApiKey: [] }];

function auditOperation(operationId: string, summary: string, parameters: unknown[], ok: unknown) {
  return { get: { operationId, summary, tags: ['audit'], security, parameters, responses: { 200: ok, ...errors } } };
}

const chainErrors = {
  404: jsonResponse('No checkpoint yet, or no such record in the log for this credential.', 'Error'),
  503: jsonResponse('The Merkle log is disabled (chain.enabled false).', 'Error'),
};

function chainOperation(operationId: string, summary: string, parameters: unknown[], schema: string) {
  const operation = auditOperation(operationId, summary, parameters, jsonResponse('Verifiable offline with the log\'s public key.', schema));
  return { get: { ...operation.get, tags: ['tamper-evidence'], responses: { ...operation.get.responses, ...chainErrors } } };
}

const proofParameters = [
  query('id', id, 'A record id: its inclusion proof against the newest checkpoint.'),
  query('from', { type: 'integer', minimum: 1 }, 'With to: a consistency proof from this tree size.'),
  query('to', { type: 'integer', minimum: 1 }, 'With from: ... to this tree size (at most the newest checkpoint\'s).'),
];

function publicOperation(operationId: string, summary: string, responses: Record<number, unknown>) {
  return { get: { operationId, summary, tags: ['proxy'], security: [], responses } };
}

/** The OpenAPI 3.1 document of the proxy's own endpoints, at the paths this config gives them. */
export function openApiDocument(config: Config): Schema {
  const { basePath, apiKeyRequestsPath, auditLogsPath, exportPath, statsPath, recordsPath, requestDetailsPath } = config.audit;
  const exportFormats = {
    description: 'Every match, newest first, streamed.',
    content: { 'application/x-ndjson': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } } },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'audit-proxy',
      version: '0.1.0',
      description: 'Endpoints the audit proxy answers itself and never forwards. Reads of the audit endpoints are recorded (resourceType audit_logs, action read).',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths: {
      [basePath + apiKeyRequestsPath]: auditOperation('listApiKeyRequests', 'Recent requests of the caller\'s organization, newest first',
        apiKeyRequestsParameters, jsonResponse('A page of requests.', 'ApiKeyRequests')),
      [basePath + auditLogsPath]: auditOperation('getAuditLogs', 'Audit logs (Portkey\'s shape), newest first', [
        ...auditLogFilterParameters,
        query('current_page', { type: 'integer', minimum: 0, default: 0 }, 'Current page number for pagination.'),
        query('page_size', { type: 'integer', minimum: 0, maximum: 100, default: 20 }, 'Number of items per page (0: only the total).'),
        query('cursor', { type: 'string', maxLength: 1024 }, 'next_cursor of the previous page (current_page 0 or absent): pages that do not shift on a live trail.'),
      ], jsonResponse('A page of records and the total.', 'AuditLogs')),
      [basePath + exportPath]: auditOperation('exportAuditLogs', 'Every matching audit log as NDJSON or CSV', [
        ...auditLogFilterParameters,
        query('format', { type: 'string', enum: ['ndjson', 'csv'], default: 'ndjson' }, 'Output format; CSV has a header row.'),
      ], exportFormats),
      [basePath + auditLogsPath + CHECKPOINT_PATH]: chainOperation('getCheckpoint', 'The newest signed checkpoint of the Merkle log', [], 'ChainCheckpoint'),
      [basePath + auditLogsPath + PROOF_PATH]: chainOperation('getProof', 'An inclusion proof for a record, or a consistency proof between tree sizes',
        proofParameters, 'ChainProof'),
      [basePath + statsPath]: auditOperation('getAuditStats', 'Requests per time bucket by status class, with duration p50/p95/p99',
        statsParameters, jsonResponse('Buckets over the range.', 'AuditStats')),
      [basePath + recordsPath]: auditOperation('listAuditRecords', 'Whole records, newest first, cursor-paged (the viewer\'s table)',
        recordsParameters, jsonResponse('A page of records.', 'AuditRecords')),
      [basePath + requestDetailsPath]: auditOperation('getRequestDetails', 'Everything recorded of one request id, captured bodies included', [
        { ...query('requestId', id, 'The request id (X-Request-Id of the response, requestId of a list item).'), required: true },
        query('organizationId', id, 'Another organization (audit:read:all only).'),
      ], jsonResponse('The records of that request id.', 'RequestDetails')),
      [config.paths.healthz]: publicOperation('healthz', 'Liveness', { 200: jsonResponse('Alive.', 'Health') }),
      [config.paths.readyz]: publicOperation('readyz', 'Readiness',
        { 200: jsonResponse('Ready.', 'Ready'), 503: jsonResponse('Not ready.', 'Ready') }),
      [config.paths.metrics]: publicOperation('metrics', 'Prometheus metrics',
        { 200: { description: 'Prometheus text format.', content: { 'text/plain': { schema: { type: 'string' } } } } }),
      [config.paths.openapi]: publicOperation('openapi', 'This document (not recorded)',
        { 200: { description: 'OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } } }),
    },
    components: {
      schemas: { ...componentSchemas, ...statsSchemas },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key or a user JWT.' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
        portkeyApiKey: { type: 'apiKey', in: 'header', name: 'x-portkey-api-key' },
      },
    },
  };
}
