/** JSON Schemas (draft 2020-12, as OpenAPI 3.1 uses) of every JSON body the proxy's own endpoints answer. */

const nullableString = { type: ['string', 'null'] } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const base64Hash = { type: 'string', pattern: '^[A-Za-z0-9+/]{43}=$', description: 'A SHA-256 hash, base64.' };
const hashList = (description: string) => ({ type: 'array', items: base64Hash, description });

function closedObject(properties: Record<string, unknown>, description: string) {
  return { type: 'object', description, properties, required: Object.keys(properties), additionalProperties: false };
}

const apiKeyRequestProperties = {
  apiKeyId: nullableString,
  clientIp: nullableString,
  createdAt: dateTime,
  durationMs: { type: 'integer', minimum: 0, description: 'Arrival to the end of the response, rounded to ms.' },
  id: { type: 'string', description: 'UUIDv7 of the record.' },
  method: { type: 'string' },
  organizationId: nullableString,
  path: { type: 'string', description: 'Path without the query string.' },
  principalId: nullableString,
  principalType: { type: 'string', enum: ['api_key', 'user', 'service_account', 'anonymous'] },
  requestId: { type: 'string' },
  routePattern: { type: 'string' },
  serviceAccountId: nullableString,
  statusCode: { type: 'integer', minimum: 0, description: '0 when the client left before any status was sent.' },
  userAgent: nullableString,
  userId: nullableString,
};

export const componentSchemas = {
  Error: closedObject({
    code: { type: 'integer', description: 'The HTTP status.' },
    data: { type: 'null' },
    message: { type: 'string', description: 'What is wrong, naming the parameter and its rule (the Portkey SDK shows it as the error message).' },
    requestId: { type: 'string', description: 'This call\'s request id (also in X-Request-Id).' },
  }, 'The one error envelope of every answer the proxy gives itself.'),
  ApiKeyRequest: closedObject(apiKeyRequestProperties, 'One recorded request; null where unknown.'),
  RequestDetail: closedObject({
    ...apiKeyRequestProperties,
    action: { type: 'string' },
    authError: { ...nullableString, description: 'Why a presented credential was not accepted.' },
    country: nullableString,
    outcome: { type: 'string', enum: ['completed', 'upstream_error', 'upstream_timeout', 'client_aborted', 'rejected'] },
    outcomeDetail: { ...nullableString, description: 'Why, for upstream errors and timeouts (e.g. "ECONNREFUSED: connection refused").' },
    query: { type: 'object', additionalProperties: { type: ['string', 'array'], items: { type: 'string' } } },
    requestBody: { ...nullableString, description: 'Captured request body (redacted, capped); null when not captured.' },
    requestBodyTruncated: { type: 'boolean' },
    requestBytes: { type: 'integer', minimum: 0 },
    requestHeaders: { type: 'object', additionalProperties: { type: 'string' }, description: 'Request headers, credentials masked to a hint.' },
    resourceType: { type: 'string' },
    responseBody: { ...nullableString, description: 'Captured error-response body (capture.responseBody), redacted; null when not captured.' },
    responseBytes: { type: 'integer', minimum: 0 },
    ttfbMs: { type: ['number', 'null'], description: 'Arrival to the upstream\'s response headers.' },
    workspaceId: nullableString,
  }, 'Everything recorded of one request.'),
  ApiKeyRequests: closedObject({
    code: { type: 'integer', const: 200 },
    data: closedObject({
      hasMore: { type: 'boolean' },
      items: { type: 'array', items: { $ref: '#/components/schemas/ApiKeyRequest' }, maxItems: 100 },
      limit: { type: 'integer', minimum: 1, maximum: 100 },
      offset: { type: 'integer', minimum: 0 },
      nextCursor: { ...nullableString, description: 'Pass as cursor for the next page; null on the last page.' },
    }, 'A page, newest first.'),
    message: { type: 'string', const: 'success' },
    requestId: { type: 'string' },
  }, 'GET api-keys/requests answer.'),
  RequestDetails: closedObject({
    code: { type: 'integer', const: 200 },
    data: closedObject({
      items: { type: 'array', items: { $ref: '#/components/schemas/RequestDetail' }, minItems: 1, maxItems: 20 },
    }, 'Every record of the request id, newest first.'),
    message: { type: 'string', const: 'success' },
    requestId: { type: 'string' },
  }, 'GET api-keys/requests/details answer.'),
  AuditLogRecord: closedObject({
    timestamp: dateTime,
    method: { type: 'string' },
    uri: { type: 'string' },
    request_id: { type: 'string' },
    request_body: { ...nullableString, description: 'Captured body (redacted, capped); null when not captured.' },
    query_params: { type: 'string', description: 'JSON object of the query parameters, as a string.' },
    request_headers: { type: 'string', description: 'JSON object of the request headers, credentials masked, as a string.' },
    user_id: { ...nullableString, description: 'The user, or the API key / service account, that made the call: the id the key registry or token carries (Portkey\'s are UUIDs).' },
    user_type: { type: ['string', 'null'], enum: ['user', 'api_key', null] },
    organisation_id: { ...nullableString, description: 'The id the key registry or token carries.' },
    workspace_id: nullableString,
    response_status_code: { type: 'integer', minimum: 0 },
    resource_type: { type: 'string' },
    action: { type: 'string' },
    client_ip: nullableString,
    country: nullableString,
  }, 'One recorded request, Portkey\'s shape.'),
  AuditLogs: closedObject({
    records: { type: 'array', items: { $ref: '#/components/schemas/AuditLogRecord' }, maxItems: 100 },
    total: { type: 'integer', minimum: 0, description: 'Every match across all pages (not only this page).' },
    next_cursor: { ...nullableString, description: 'Pass as cursor for the next page (stable on a live trail); null on the last page.' },
  }, 'GET audit-logs answer: Portkey\'s AuditLogObjectList plus next_cursor.'),
  ...chainSchemas(),
  Health: closedObject({ status: { type: 'string', const: 'ok' } }, 'Liveness.'),
  Ready: closedObject({
    status: { type: 'string', enum: ['ready', 'unavailable'] },
    problems: { type: 'array', items: { type: 'string' } },
  }, 'Readiness: the store accepts records and the upstream answers.'),
};


/** The Merkle log's answers (docs/tamper-evidence.md): the proxy's envelope around a signed checkpoint and proofs. */
function chainSchemas() {
  const checkpoint = {
    checkpoint: { type: 'string', description: 'C2SP tlog-checkpoint signed note: origin, tree size, root hash, blank line, Ed25519 signature line.' },
    origin: { type: 'string', description: 'The log\'s name (also the signing key\'s name).' },
    treeSize: { type: 'integer', minimum: 1 },
    rootHash: base64Hash,
  };
  const envelope = (data: Record<string, unknown>, description: string) => closedObject({
    code: { type: 'integer', const: 200 },
    data: closedObject(data, description),
    message: { type: 'string', const: 'success' },
    requestId: { type: 'string' },
  }, description);
  return {
    ChainCheckpoint: envelope(checkpoint, 'The newest signed checkpoint.'),
    ChainProof: {
      oneOf: [
        envelope({
          id: { type: 'string' },
          leafIndex: { type: 'integer', minimum: 0, description: 'The record\'s commit sequence number minus one.' },
          leafHash: { ...base64Hash, description: 'SHA-256(0x00 || leaf).' },
          leaf: { ...nullableString, description: 'The record\'s stored bytes, base64 (null once retention removed it).' },
          inclusionProof: hashList('RFC 9162 inclusion path, leaf to root, against the checkpoint\'s tree.'),
          ...checkpoint,
        }, 'An inclusion proof (?id=).'),
        envelope({
          from: { type: 'integer', minimum: 1 },
          to: { type: 'integer', minimum: 1 },
          consistencyProof: hashList('RFC 9162 consistency proof from tree size `from` to tree size `to`.'),
          ...checkpoint,
        }, 'A consistency proof (?from=&to=).'),
      ],
    },
  };
}
