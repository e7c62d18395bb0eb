import type { AppendedRecord, RawBodies } from '../audit/raw-body.js';
import { BUILT_IN_MASKED_HEADERS, maskHeaders } from '../audit/mask.js';
import { BodyRedactor } from '../audit/redact.js';
import { RouteClassifier, type RouteInfo } from '../audit/route.js';
import type { Config } from '../config/schema.js';
import type { RequestContext } from './context.js';
import { isoTime } from '../audit/iso-time.js';

/**
 * Turns a finished request's context into its record: masked, redacted, classified. Captured bodies go as raw bytes,
 * off this thread's heap, which the store's writer decodes and redacts (settleBody), on its own thread by default.
 */
export class RecordBuilder {
  private readonly masked: ReadonlySet<string>;
  private readonly maxHeaderBytes: number;
  readonly redactor: BodyRedactor;

  constructor(config: Config, private readonly routes: RouteClassifier, private readonly upstream: string) {
    this.masked = new Set([
      ...BUILT_IN_MASKED_HEADERS,
      ...config.auth.apiKeyHeaders.map((h) => h.toLowerCase()),
      ...config.capture.maskHeaders.map((h) => h.toLowerCase()),
    ]);
    this.redactor = new BodyRedactor(config.capture.redactKeys);
    this.maxHeaderBytes = config.capture.maxHeaderBytes;
  }

  build(ctx: RequestContext): AppendedRecord {
    const { req, principal } = ctx;
    const method = req.method ?? 'GET';
    const route: RouteInfo = ctx.resource ?? this.routes.classify(method, ctx.pathname);
    const record: AppendedRecord = {
      id: ctx.recordId,
      requestId: ctx.requestId,
      createdAt: isoTime(ctx.createdAtMs),
      method,
      path: ctx.pathname,
      query: this.redactor.redactQuery(parseQuery(ctx.search)),
      routePattern: route.routePattern,
      resourceType: route.resourceType,
      action: route.action,
      statusCode: ctx.statusCode,
      outcome: ctx.outcome,
      outcomeDetail: ctx.outcomeDetail,
      durationMs: round3(ctx.elapsedMs()),
      ttfbMs: ctx.ttfbMs === null ? null : round3(ctx.ttfbMs),
      requestBytes: ctx.requestBytes,
      responseBytes: ctx.responseBytes,
      clientIp: ctx.clientIp,
      country: ctx.country,
      userAgent: req.headers['user-agent'] ?? null,
      principalType: principal.principalType,
      principalId: principal.principalId,
      apiKeyId: principal.apiKeyId,
      serviceAccountId: principal.serviceAccountId,
      userId: principal.userId,
      organizationId: principal.organizationId,
      workspaceId: principal.workspaceId,
      authError: principal.authError,
      ...(principal.otherCredentials?.length ? { otherCredentials: [...principal.otherCredentials] } : {}),
      requestHeaders: capHeaders(maskHeaders(req.headers, this.masked), this.maxHeaderBytes),
      requestBody: null,
      requestBodyTruncated: ctx.requestBody?.truncated ?? false,
      responseBody: ctx.responseCoding && `[${ctx.responseCoding}-encoded body not captured]`,
      upstream: this.upstream,
    };
    const rawBodies = rawBodiesOf(ctx);
    if (rawBodies) record.rawBodies = rawBodies;
    return record;
  }
}

function rawBodiesOf(ctx: RequestContext): RawBodies | null {
  if (!ctx.requestBody && !ctx.responseBody) return null;
  const raw: RawBodies = {};
  if (ctx.requestBody) raw.request = { bytes: ctx.requestBody.bytes(), contentType: ctx.req.headers['content-type'] };
  if (ctx.responseBody) raw.response = { bytes: ctx.responseBody.bytes(), contentType: ctx.responseContentType };
  return raw;
}

/** Query parameters as an object: repeated names become arrays; a malformed escape is kept as sent. */
export function parseQuery(search: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  if (!search) return out;
  for (const [key, value] of new URLSearchParams(search)) {
    const prior = out[key];
    if (prior === undefined) out[key] = value;
    else if (Array.isArray(prior)) prior.push(value);
    else out[key] = [prior, value];
  }
  return out;
}

/** Where a record says which headers were left out for capture.maxHeaderBytes. */
export const OMITTED_HEADERS_KEY = 'x-audit-proxy-omitted-headers';

/**
 * The headers in arrival order up to maxBytes (names and values), so a client cannot make every record it causes
 * carry tens of KiB of headers; what is left out is counted under OMITTED_HEADERS_KEY.
 */
export function capHeaders(headers: Record<string, string>, maxBytes: number): Record<string, string> {
  let total = 0;
  for (const name in headers) total += name.length + headers[name]!.length;
  if (total <= maxBytes) return headers;
  const kept: Record<string, string> = {};
  let used = 0;
  let omitted = 0;
  for (const name in headers) {
    const size = name.length + headers[name]!.length;
    if (omitted === 0 && used + size <= maxBytes) {
      kept[name] = headers[name]!;
      used += size;
    } else omitted++;
  }
  kept[OMITTED_HEADERS_KEY] = `${omitted} headers, ${total - used} bytes over capture.maxHeaderBytes`;
  return kept;
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

