import type { Config } from '../config/schema.js';
import type { RequestContext } from '../pipeline/context.js';
import type { OwnRoute } from '../pipeline/pipeline.js';
import type { Chain } from '../chain/service.js';
import { loadFingerprintSecret } from '../principal/fingerprint-secret.js';
import { InvalidCursorError } from '../store/cursor.js';
import { QueryTimeoutError, ReaderFailedError } from '../store/read-pool/errors.js';
import type { AuditStore } from '../store/store.js';
import { StoreUnavailableError } from '../store/unavailable.js';
import { denyReader } from './access.js';
import { answerCheckpoint, answerProof, CHECKPOINT_PATH, PROOF_PATH } from './chain.js';
import { answerApiKeyRequests } from './api-key-requests.js';
import { answerAuditLogs } from './audit-logs.js';
import { answerAuditRecords } from './audit-records.js';
import { answerAuditStats } from './audit-stats.js';
import { cursorKey } from './cursor.js';
import { answerExport } from './export.js';
import { openApiDocument } from './openapi.js';
import { answerRequestDetails } from './request-details.js';
import { sendApiError } from './respond.js';

/** `cursors` signs and checks the cursors an endpoint hands out (see cursor.ts). */
type Answer = (ctx: RequestContext, store: AuditStore, cursors: Buffer) => void | Promise<void>;

/** The audit endpoints and the OpenAPI document, by path, for the pipeline's own routes. */
export function apiRoutes(config: Config, store: AuditStore | null, chain: Chain | null = null): Map<string, OwnRoute> {
  const { basePath, apiKeyRequestsPath, auditLogsPath, exportPath, statsPath, recordsPath, requestDetailsPath } = config.audit;
  // The installation secret lives beside the store (config.store.path), as the principal resolver keeps it.
  const cursors = cursorKey(loadFingerprintSecret(config.auth.fingerprintSecret, config.store.path));
  const audit = (path: string, answer: Answer): [string, OwnRoute] => [path, auditRoute(path, config.auth, store, (ctx, s) => answer(ctx, s, cursors))];
  return new Map([
    audit(basePath + apiKeyRequestsPath, answerApiKeyRequests),
    audit(basePath + auditLogsPath, (ctx, s, c) => answerAuditLogs(ctx, s, c, config.audit.auditLogsMethods)),
    audit(basePath + exportPath, (ctx, s) => answerExport(ctx, s, config.audit.auditLogsMethods)),
    audit(basePath + auditLogsPath + CHECKPOINT_PATH, (ctx) => withChain(ctx, chain, answerCheckpoint)),
    audit(basePath + auditLogsPath + PROOF_PATH, (ctx) => withChain(ctx, chain, answerProof)),
    audit(basePath + statsPath, answerAuditStats),
    audit(basePath + recordsPath, answerAuditRecords),
    audit(basePath + requestDetailsPath, answerRequestDetails),
    [config.paths.openapi, openApiRoute(JSON.stringify(openApiDocument(config)))],
  ]);
}

function withChain(ctx: RequestContext, chain: Chain | null, answer: (ctx: RequestContext, chain: Chain) => void): void {
  if (!chain) return sendApiError(ctx, 503, 'the Merkle log is disabled (chain.enabled is false)');
  answer(ctx, chain);
}

/** Recorded as audit_logs/read, so the trail shows who looked; refused with 405, 401, 403 before any query. */
function auditRoute(routePattern: string, auth: Config['auth'], store: AuditStore | null, answer: (ctx: RequestContext, store: AuditStore) => void | Promise<void>): OwnRoute {
  return {
    recorded: true,
    handle(ctx) {
      ctx.resource = { resourceType: 'audit_logs', action: 'read', routePattern };
      ctx.req.resume(); // a body sent with a GET is not read; drain it so the connection can be reused
      if (!readOnly(ctx)) return;
      const denial = denyReader(ctx.principal, auth);
      if (denial) return sendApiError(ctx, denial.status, denial.message, denial.headers);
      if (!store) return sendApiError(ctx, 503, 'the audit store is disabled (store.enabled is false)');
      return answerOrRefuse(ctx, () => answer(ctx, store));
    },
  };
}

/**
 * A store that refuses a cursor (the API checks them first, so only a forgery gets this far) answers 400, a read past
 * its time budget or on a failed reader 503, with the message naming the budget. An export already streaming
 * cannot change its status: the pipeline cuts it short (the client sees an incomplete transfer, never a short file).
 */
async function answerOrRefuse(ctx: RequestContext, answer: () => void | Promise<void>): Promise<void> {
  try {
    await answer();
  } catch (err) {
    if (ctx.res.headersSent) throw err;
    if (err instanceof InvalidCursorError) return sendApiError(ctx, 400, 'cursor is not valid (pass the nextCursor you were given unchanged)');
    if (err instanceof QueryTimeoutError || err instanceof ReaderFailedError) return sendApiError(ctx, 503, err.message);
    if (err instanceof StoreUnavailableError) return sendApiError(ctx, 503, err.message);
    throw err;
  }
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
