import type { Config } from '../config/schema.js';
import type { RequestContext } from '../pipeline/context.js';
import type { OwnRoute } from '../pipeline/pipeline.js';
import type { AuditStore } from '../store/store.js';
import { denyReader } from './access.js';
import { answerApiKeyRequests } from './api-key-requests.js';
import { answerAuditLogs } from './audit-logs.js';
import { answerExport } from './export.js';
import { openApiDocument } from './openapi.js';
import { answerRequestDetails } from './request-details.js';
import { sendApiError } from './respond.js';

type Answer = (ctx: RequestContext, store: AuditStore) => void | Promise<void>;

/** The audit endpoints and the OpenAPI document, by path, for the pipeline's own routes. */
export function apiRoutes(config: Config, store: AuditStore | null): Map<string, OwnRoute> {
  const { basePath, apiKeyRequestsPath, auditLogsPath, exportPath, requestDetailsPath } = config.audit;
  const audit = (path: string, answer: Answer): [string, OwnRoute] => [path, auditRoute(path, config.auth.realm, store, answer)];
  return new Map([
    audit(basePath + apiKeyRequestsPath, answerApiKeyRequests),
    audit(basePath + auditLogsPath, answerAuditLogs),
    audit(basePath + exportPath, answerExport),
    audit(basePath + requestDetailsPath, answerRequestDetails),
    [config.paths.openapi, openApiRoute(JSON.stringify(openApiDocument(config)))],
  ]);
}

/** Recorded as audit_logs/read, so the trail shows who looked; refused with 405, 401, 403 before any query. */
function auditRoute(routePattern: string, realm: string, store: AuditStore | null, answer: Answer): OwnRoute {
  return {
    recorded: true,
    handle(ctx) {
      ctx.resource = { resourceType: 'audit_logs', action: 'read', routePattern };
      ctx.req.resume(); // a body sent with a GET is not read; drain it so the connection can be reused
      if (!readOnly(ctx)) return;
      const denial = denyReader(ctx.principal, realm);
      if (denial) return sendApiError(ctx, denial.status, denial.message, denial.headers);
      if (!store) return sendApiError(ctx, 503, 'the audit store is disabled (store.enabled is false)');
      return answer(ctx, store);
    },
  };
}

/** Public and not recorded: it describes the proxy, it reveals no audit data. */
function openApiRoute(document: string): OwnRoute {
  return {
    recorded: false,
    handle(ctx) {
      if (readOnly(ctx)) ctx.replyJson(200, document);
    },
  };
}

/** True for GET and HEAD; anything else is answered 405 with Allow. */
function readOnly(ctx: RequestContext): boolean {
  const method = ctx.req.method;
  if (method === 'GET' || method === 'HEAD') return true;
  sendApiError(ctx, 405, `${method} is not allowed here; use GET`, { allow: 'GET, HEAD' });
  return false;
}
