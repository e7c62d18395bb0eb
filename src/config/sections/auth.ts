import { z } from 'zod';

export const keyEntrySchema = z.strictObject({
  id: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'must be a SHA-256 hex digest (audit-proxy keys hash <key>)'),
  organizationId: z.string().min(1),
  serviceAccountId: z.string().optional(),
  userId: z.string().optional(),
  workspaceId: z.string().optional(),
  name: z.string().optional(),
  scopes: z.array(z.string()).default([]),
});
export type KeyEntry = z.infer<typeof keyEntrySchema>;

export const authSchema = z.strictObject({
  enforce: z.boolean().default(false)
    .describe('true: refuse a missing, unknown, expired or invalid credential with 401. false: observe and record only.'),
  realm: z.string().regex(/^[^"\\]+$/, 'must not contain quotes or backslashes').default('audit-proxy')
    .describe('Realm named in the WWW-Authenticate header of a 401.'),
  apiKeyHeaders: z.array(z.string()).default([])
    .describe('Headers carrying an API key, beyond Authorization: Bearer, X-Api-Key and x-portkey-api-key.'),
  keys: z.array(keyEntrySchema).default([]).describe('Key registry: SHA-256 digests of API keys, never raw keys.'),
  keysFile: z.string().nullable().default(null)
    .describe('A YAML/JSON file holding more registry entries (a list, or {keys: [...]}); edits apply without restart.'),
  fingerprintSecret: z.string().nullable().default(null)
    .describe('Secret for the HMAC fingerprint of unknown keys; default: generated once and kept in the data directory.'),
  introspection: z.strictObject({
    url: z.url().nullable().default(null).describe('RFC 7662 introspection endpoint of the backend (POST token=...).'),
    clientId: z.string().nullable().default(null).describe('Basic-auth client id for the introspection call.'),
    clientSecret: z.string().nullable().default(null).describe('Basic-auth client secret for the introspection call.'),
    timeoutMs: z.number().int().positive().default(1_000).describe('Introspection call timeout.'),
    positiveTtlMs: z.number().int().min(0).default(60_000).describe('How long an active answer is cached.'),
    negativeTtlMs: z.number().int().min(0).default(10_000).describe('How long an inactive answer is cached.'),
    failureThreshold: z.number().int().min(1).default(5).describe('Consecutive failures that open the circuit breaker.'),
    resetMs: z.number().int().min(100).default(10_000).describe('How long the breaker stays open before one trial call.'),
    cacheSize: z.number().int().positive().default(10_000).describe('Most introspection answers kept in each cache.'),
    claims: z.strictObject({
      apiKeyId: z.string().default('key_id').describe('Absent from an answer: the key fingerprint is used.'),
      userId: z.string().default('sub').describe('Answer field holding the user id.'),
      organizationId: z.string().default('org_id').describe('Answer field holding the organization id.'),
      workspaceId: z.string().default('workspace_id').describe('Answer field holding the workspace id.'),
      serviceAccountId: z.string().default('service_account_id')
        .describe('Answer field holding a service account id (its presence makes the key a service account\'s).'),
      scopes: z.string().default('scope').describe('A space-separated string or an array of strings.'),
    }).prefault({}).describe('Principal field <- introspection response field.'),
  }).prefault({}),
  jwt: z.strictObject({
    secret: z.string().nullable().default(null).describe('HS256/384/512 shared secret.'),
    jwksUrl: z.url().nullable().default(null).describe('JWKS URL for RS/PS/ES/EdDSA tokens.'),
    issuer: z.string().nullable().default(null).describe('Required iss, when set.'),
    audience: z.string().nullable().default(null).describe('Required aud, when set.'),
    clockToleranceSec: z.number().int().min(0).default(30).describe('Clock skew allowed for exp and nbf.'),
    cacheTtlMs: z.number().int().min(0).default(60_000)
      .describe('How long a verified token is remembered (never past its exp); 0 disables the cache.'),
    cacheSize: z.number().int().positive().default(10_000).describe('Most verified tokens remembered.'),
    jwksTimeoutMs: z.number().int().positive().default(2_000).describe('JWKS fetch timeout.'),
    jwksMaxAgeMs: z.number().int().positive().default(600_000)
      .describe('Age after which the JWKS is refetched in the background (the old set serves meanwhile).'),
    jwksCooldownMs: z.number().int().min(0).default(30_000)
      .describe('Least time between two JWKS fetches triggered by unknown kids, so bogus kids cannot hammer the server.'),
    claims: z.strictObject({
      userId: z.string().default('sub').describe('Claim holding the user id.'),
      organizationId: z.string().default('org_id').describe('Claim holding the organization id.'),
      workspaceId: z.string().default('workspace_id').describe('Claim holding the workspace id.'),
      scopes: z.union([z.string(), z.array(z.string())]).default(['scope', 'permissions'])
        .transform((v) => (typeof v === 'string' ? [v] : v))
        .describe('Claim(s) holding scopes, first present wins: a space-separated string or an array.'),
      serviceAccountId: z.string().default('service_account_id')
        .describe('A token carrying this claim is a service account.'),
    }).prefault({}).describe('Principal field <- token claim.'),
  }).prefault({}),
  identityHeaders: z.strictObject({
    user: z.array(z.string()).default(['x-auth-request-user', 'x-forwarded-user']).describe('Headers naming the user.'),
    organization: z.array(z.string()).default(['x-auth-request-org', 'x-forwarded-org']).describe('Headers naming the organization.'),
    email: z.array(z.string()).default(['x-auth-request-email', 'x-forwarded-email'])
      .describe('Used as the user id when no user header is present.'),
    workspace: z.array(z.string()).default([]).describe('Headers naming the workspace.'),
  }).prefault({}).describe('Identity headers set by an auth layer in front; believed only from trustProxy peers.'),
}).prefault({});

export const auditSchema = z.strictObject({
  basePath: z.string().startsWith('/').default('/v1').describe('Prefix of the audit endpoints.'),
  apiKeyRequestsPath: z.string().startsWith('/').default('/api-keys/requests').describe('GET: recent requests (under basePath).'),
  auditLogsPath: z.string().startsWith('/').default('/audit-logs').describe('GET: Portkey-compatible audit logs (under basePath).'),
  exportPath: z.string().startsWith('/').default('/audit-logs/export').describe('GET: NDJSON/CSV export (under basePath).'),
  auditLogsMethods: z.enum(['all', 'portkey']).default('all')
    .describe('Records audit-logs and its export return when no method parameter is given: all (every method, reads included) or portkey (POST, PUT, DELETE only, as strict Portkey clients expect).'),
  statsPath: z.string().startsWith('/').default('/audit-logs/stats')
    .describe('GET: requests per time bucket by status class, duration percentiles (under basePath).'),
  recordsPath: z.string().startsWith('/').default('/audit-logs/records')
    .describe('GET: whole records, cursor-paged, with status class and route filters; the viewer\'s table (under basePath).'),
  queryTimeoutMs: z.number().int().min(1).default(5_000)
    .describe('Time budget of one audit query (of each page of an export), queueing included; past it the scan is cancelled and the answer is 503.'),
  readWorkers: z.number().int().min(1).max(64).default(2)
    .describe('Reader threads answering audit queries off the proxy\'s event loop (each opens the store read-only).'),
  requestDetailsPath: z.string().startsWith('/').default('/api-keys/requests/details')
    .describe('GET: everything recorded of one request id, captured bodies included (under basePath).'),
}).prefault({}).describe('Audit endpoints, answered by the proxy and never forwarded.');
