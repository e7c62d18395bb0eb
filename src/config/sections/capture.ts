import { z } from 'zod';

export const DEFAULT_REDACT_KEYS = [
  'password', 'passwd', 'secret', 'token', 'access_token', 'refresh_token', 'id_token', 'api_key', 'apikey',
  'authorization', 'client_secret', 'private_key', 'credentials', 'cookie',
];

const bodyCapture = z.strictObject({
  enabled: z.boolean().describe('Capture this body.'),
  maxBytes: z.number().int().min(0).describe('Bytes kept at most; the rest is marked truncated.'),
});

export const captureSchema = z.strictObject({
  maskHeaders: z.array(z.string()).default([])
    .describe('Request headers masked in records beyond the built-in credential headers (Authorization, Cookie, X-Api-Key, ...).'),
  maxHeaderBytes: z.number().int().min(0).default(4_096)
    .describe('Request header bytes (names and values) kept per record; headers past it are left out and counted under "x-audit-proxy-omitted-headers".'),
  requestBody: bodyCapture.extend({
    enabled: bodyCapture.shape.enabled.default(true),
    maxBytes: bodyCapture.shape.maxBytes.default(16_384),
  }).prefault({}),
  responseBody: bodyCapture.extend({
    enabled: bodyCapture.shape.enabled.default(false),
    maxBytes: bodyCapture.shape.maxBytes.default(16_384),
  }).prefault({}).describe('Capture the body of error responses (status >= 400).'),
  contentTypes: z.array(z.string()).default([
    'application/json', 'application/*+json', 'application/x-www-form-urlencoded', 'application/xml',
    'application/*+xml', 'application/graphql', 'text/*',
  ]).describe('Media types whose bodies are captured (text-like only); * matches within a part.'),
  redactKeys: z.array(z.string()).default(DEFAULT_REDACT_KEYS).describe('JSON keys (any depth, case-insensitive) whose values become "[REDACTED]".'),
  exclude: z.array(z.string()).default([])
    .describe('Route patterns never recorded (e.g. /health, /v1/ping/*).'),
  overrides: z.array(z.strictObject({
    pattern: z.string().describe('Route pattern the override applies to.'),
    requestBody: bodyCapture.partial().optional(),
    responseBody: bodyCapture.partial().optional(),
  })).default([]).describe('Per-route capture settings that replace the defaults above.'),
}).prefault({});

export const routesSchema = z.preprocess(
  (value) => (Array.isArray(value) ? { rules: value } : value),
  z.strictObject({
    openapi: z.string().nullable().default(null)
      .describe('The upstream\'s OpenAPI document (file path or URL) to derive route patterns from.'),
    rules: z.array(z.strictObject({
      pattern: z.string().startsWith('/').describe('e.g. /v1/users/:id'),
      resourceType: z.string().optional(),
      action: z.string().optional(),
      methods: z.array(z.string()).optional(),
    })).default([]).describe('Route patterns with their resource type and action; first match wins.'),
  }).prefault({}),
).describe('How a request path becomes routePattern, resourceType and action. An array is shorthand for rules.');

export const clientSchema = z.strictObject({
  countryHeader: z.string().nullable().default(null)
    .describe('Trusted header carrying the client\'s country (e.g. cf-ipcountry), believed only from trustProxy peers.'),
  geoipDatabase: z.string().nullable().default(null)
    .describe('Offline GeoIP country database (MaxMind-format .mmdb: GeoLite2-Country, DB-IP) used when no trusted country header is present.'),
}).prefault({});
