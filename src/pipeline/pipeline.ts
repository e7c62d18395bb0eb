import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Outcome } from '../audit/record.js';
import type { Config } from '../config/schema.js';
import { ERRORS, errorBody } from '../errors.js';
import type { Logger } from '../log.js';
import type { ProxyMetrics } from '../metrics.js';
import type { CountryLookup } from '../net/geoip.js';
import { createTrustMatcher, type TrustMatcher } from '../net/trust.js';
import { createRepeatedCredentialCheck } from '../principal/credentials.js';
import type { Principal, PrincipalResolver } from '../principal/principal.js';
import type { AuditStore } from '../store/store.js';
import { arrivalProblem, type ArrivalProblem } from './arrival-checks.js';
import { CapturePolicy } from './capture-policy.js';
import { clientIpFor } from './client-ip.js';
import { RequestContext } from './context.js';
import type { Transport } from './forward.js';
import { forwardedView } from './headers.js';
import type { RecordBuilder } from './record.js';
import { requestIdFor } from './request-id.js';
import { RequestLog } from './request-log.js';
import { parseTarget, type Target } from './target.js';
import { answerOnSocket, type WebSocketTransport } from './websocket.js';

/** How long a connection answered before its request body was all read stays open, so the client can read the answer. */
const CLOSE_LINGER_MS = 1_000;

/** What the auth gate says of a principal the proxy must refuse (auth.enforce). */
export interface Rejection {
  status: number;
  message: string;
  wwwAuthenticate?: string;
}

interface Refusal {
  status: number;
  message: string;
  outcome: Outcome;
  headers?: Record<string, string>;
}

/** An endpoint the proxy answers itself. */
export interface OwnRoute {
  /** Health and metrics are neither identified nor recorded. */
  recorded: boolean;
  handle(ctx: RequestContext): void | Promise<void>;
}

export interface PipelineDeps {
  config: Config;
  logger: Logger;
  resolver: PrincipalResolver;
  authGate: (principal: Principal) => Rejection | null;
  store: AuditStore | null;
  transport: Transport;
  upgrades: WebSocketTransport;
  records: RecordBuilder;
  metrics: ProxyMetrics;
  ownRoutes: ReadonlyMap<string, OwnRoute>;
  /** Offline GeoIP, when client.geoipDatabase is set. */
  countryOf: CountryLookup | null;
}

/**
 * A request's way through the proxy, one step each:
 * arrive -> identify -> admit -> capture -> forward (or an own route) -> finish (record + log).
 */
export class Pipeline {
  private readonly isTrusted: TrustMatcher;
  private readonly capture: CapturePolicy;
  private readonly countryHeader: string | null;
  private readonly logRequests: boolean;
  private readonly requestLog: RequestLog;
  private readonly repeatedCredential: (rawHeaders: readonly string[]) => string | null;
  /** HTTP requests between arrival and their response's close (a graceful shutdown waits for 0). */
  inFlight = 0;

  constructor(private readonly deps: PipelineDeps) {
    this.isTrusted = createTrustMatcher(deps.config.trustProxy);
    this.capture = new CapturePolicy(deps.config.capture);
    this.countryHeader = deps.config.client.countryHeader?.toLowerCase() ?? null;
    this.logRequests = deps.config.log.requests;
    this.requestLog = new RequestLog(deps.logger);
    const { apiKeyHeaders, identityHeaders } = deps.config.auth;
    this.repeatedCredential = createRepeatedCredentialCheck(apiKeyHeaders, Object.values(identityHeaders).flat());
  }

  /** Entry point for every request; `expectContinue` when the client waits for 100 Continue. */
  handle = (req: IncomingMessage, res: ServerResponse, expectContinue = false): void => {
    if (res.socket) return this.start(req, res, expectContinue, false);
    // Pipelined behind a response still going out: started in its turn, so the upstream sees requests in the order they
    // came. Node never closes the response of one whose connection dies first: it is recorded as left, unforwarded.
    this.inFlight++;
    const inTurn = (): void => {
      req.off('close', gone);
      this.inFlight--;
      this.start(req, res, expectContinue, false);
    };
    const gone = (): void => {
      if (res.socket) return;
      res.off('socket', inTurn);
      this.inFlight--;
      this.start(req, res, false, true);
    };
    res.once('socket', inTurn);
    req.once('close', gone);
  };

  /** A request in its turn; `gone` when its connection died before it: identified and recorded, never forwarded. */
  private start(req: IncomingMessage, res: ServerResponse, expectContinue: boolean, gone: boolean): void {
    const target = parseTarget(req.url);
    if (target.ok) req.url = target.url;
    const ctx = this.arrive(req, res);
    const own = target.ok ? this.deps.ownRoutes.get(ctx.pathname) : undefined;
    if (own && !own.recorded) {
      ctx.unrecorded = true;
      this.runOwnRoute(ctx, own);
      return;
    }
    this.inFlight++;
    const ended = (): void => {
      this.inFlight--;
      ctx.clientClosed = true;
      closeIfBodyUnread(req);
      // A record is built only once its caller is known: an identification in flight is waited for.
      if (ctx.identifying) void ctx.identifying.then(() => this.finish(ctx));
      else this.finish(ctx);
    };
    if (gone) {
      ctx.clientClosed = true;
      queueMicrotask(ended); // once identification has started below
    } else {
      res.once('close', ended);
    }
    const problem: ArrivalProblem | null = target.ok ? arrivalProblem(req, this.repeatedCredential) : { status: 400, message: target.message };
    if (problem) {
      this.answer(ctx, problem.status, problem.message, 'rejected');
      return;
    }
    const identified = this.deps.resolver.resolve(forwardedView(req), ctx.peerIp);
    if (identified instanceof Promise) {
      ctx.identifying = identified.then(
        (principal) => this.proceed(ctx, principal, own, expectContinue),
        (err: unknown) => this.fail(ctx, err),
      );
    } else {
      this.proceed(ctx, identified, own, expectContinue);
    }
  }

  /** Entry point for upgrade requests (WebSocket); same steps, answered on the raw socket. */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', ignoreSocketError);
    const target = parseTarget(req.url);
    if (target.ok) req.url = target.url;
    // An upgrade has no response object; a detached one keeps one context type for both flows.
    const ctx = this.arrive(req, new ServerResponse(req));
    ctx.upgrade = true;
    socket.once('close', () => { ctx.clientClosed = true; });
    const own = target.ok ? this.deps.ownRoutes.get(ctx.pathname) : undefined;
    if (own && !own.recorded) ctx.unrecorded = true;
    const problem = this.upgradeProblem(req, target, own);
    if (problem) {
      this.refuseUpgrade(ctx, socket, { ...problem, outcome: 'rejected' });
      return;
    }
    const identified = this.deps.resolver.resolve(forwardedView(req), ctx.peerIp);
    if (identified instanceof Promise) {
      identified.then((principal) => this.proceedUpgrade(ctx, socket, head, principal), (err: unknown) => {
        this.deps.logger.error({ err, requestId: ctx.requestId }, 'upgrade failed inside the proxy');
        this.refuseUpgrade(ctx, socket, { status: 500, message: 'internal proxy error', outcome: 'rejected' });
      });
    } else {
      this.proceedUpgrade(ctx, socket, head, identified);
    }
  };

  /** Why an upgrade is refused before anyone is identified: the request rules, plus WebSocket only and no own path. */
  private upgradeProblem(req: IncomingMessage, target: Target, own: OwnRoute | undefined): ArrivalProblem | null {
    if (!target.ok) return { status: 400, message: target.message };
    if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
      return { status: 400, message: 'only WebSocket upgrades are supported' };
    }
    if (own) return { status: 400, message: 'the proxy\'s own endpoints do not accept upgrades' };
    return arrivalProblem(req, this.repeatedCredential);
  }

  private proceedUpgrade(ctx: RequestContext, socket: Duplex, head: Buffer, principal: Principal): void {
    ctx.principal = principal;
    if (ctx.clientClosed) {
      ctx.outcome = 'client_aborted'; // gone while being identified: nothing is forwarded for nobody
      this.finish(ctx);
      return;
    }
    const refusal = ambiguity(principal) ?? this.refusal(ctx);
    if (refusal) return this.refuseUpgrade(ctx, socket, refusal);
    ctx.unrecorded = this.capture.excluded(ctx.pathname);
    this.deps.upgrades.upgrade(ctx, socket, head, () => this.finish(ctx));
  }

  private refuseUpgrade(ctx: RequestContext, socket: Duplex, refusal: Refusal): void {
    ctx.statusCode = refusal.status;
    ctx.outcome = refusal.outcome;
    const body = errorBody(refusal.status, refusal.message, ctx.requestId);
    ctx.responseBytes = answerOnSocket(socket, refusal.status, body, { 'x-request-id': ctx.requestId, ...refusal.headers });
    this.finish(ctx);
  }

  private arrive(req: IncomingMessage, res: ServerResponse): RequestContext {
    const ctx = new RequestContext(req, res, requestIdFor(req.headers['x-request-id']), req.socket.remoteAddress ?? '');
    ctx.peerTrusted = this.isTrusted(ctx.peerIp);
    ctx.clientIp = clientIpFor(ctx.peerIp, req.headers['x-forwarded-for'], this.isTrusted);
    if (this.countryHeader && ctx.peerTrusted) ctx.country = headerValue(req.headers[this.countryHeader]);
    if (ctx.country === null && this.deps.countryOf) ctx.country = this.deps.countryOf(ctx.clientIp);
    return ctx;
  }

  private proceed(ctx: RequestContext, principal: Principal, own: OwnRoute | undefined, expectContinue: boolean): void {
    ctx.principal = principal;
    if (ctx.clientClosed) {
      ctx.outcome = 'client_aborted'; // gone while being identified: nothing is forwarded for a client that left
      return;
    }
    const ambiguous = ambiguity(principal);
    if (ambiguous) {
      this.answer(ctx, ambiguous.status, ambiguous.message, ambiguous.outcome);
      return;
    }
    if (own) {
      this.runOwnRoute(ctx, own);
      return;
    }
    const refusal = this.refusal(ctx);
    if (refusal) {
      this.answer(ctx, refusal.status, refusal.message, refusal.outcome, refusal.headers);
      return;
    }
    this.startCapture(ctx);
    if (expectContinue) ctx.res.writeContinue();
    this.deps.transport.forward(ctx, {
      errorBodyMaxBytes: this.capture.limitsFor(ctx.pathname).errorBodyMaxBytes,
      isTextLike: this.capture.isTextLike,
      onSlowBody: this.countSlowBody,
    });
  }

  /** What must not reach the upstream: a store that cannot record (closed mode) or a refused credential. */
  private readonly countSlowBody = (): void => this.deps.metrics.slowClient('body');

  private refusal(ctx: RequestContext): Refusal | null {
    const { store, config, authGate } = this.deps;
    if (store && config.store.onFailure === 'closed' && !store.accepting()) {
      ctx.unrecorded = true; // the store is what cannot take it; the log line says so
      const { status, message, outcome } = ERRORS.store_unavailable;
      return { status, message, outcome };
    }
    const rejection = authGate(ctx.principal);
    if (!rejection) return null;
    const headers = rejection.wwwAuthenticate ? { 'www-authenticate': rejection.wwwAuthenticate } : undefined;
    return { status: rejection.status, message: rejection.message, outcome: 'rejected', headers };
  }

  private startCapture(ctx: RequestContext): void {
    if (this.capture.excluded(ctx.pathname)) {
      ctx.unrecorded = true;
      return;
    }
    ctx.requestBody = this.capture.requestBodyCapture(ctx.req, this.capture.limitsFor(ctx.pathname));
  }

  private runOwnRoute(ctx: RequestContext, own: OwnRoute): void {
    try {
      const done = own.handle(ctx);
      if (done instanceof Promise) done.catch((err: unknown) => this.fail(ctx, err));
    } catch (err) {
      this.fail(ctx, err);
    }
  }

  private answer(ctx: RequestContext, status: number, message: string, outcome: Outcome, headers?: Record<string, string>): void {
    // An unread body is drained while the answer goes out, then the connection is closed (closeIfBodyUnread).
    const unread = !ctx.req.complete;
    ctx.replyError(status, message, outcome, unread ? { ...headers, connection: 'close' } : headers);
    if (unread) ctx.req.resume();
  }

  private fail(ctx: RequestContext, err: unknown): void {
    this.deps.logger.error({ err, requestId: ctx.requestId }, 'request failed inside the proxy');
    if (!ctx.res.headersSent) this.answer(ctx, 500, 'internal proxy error', 'rejected');
    else ctx.res.destroy();
  }

  private finish(ctx: RequestContext): void {
    // The response closed before its last byte went out: whatever else happened, the client left.
    // (An upgrade has no response object to finish: the WebSocket transport sets its outcome.)
    if (!ctx.upgrade && !ctx.res.writableFinished && ctx.outcome === 'completed') ctx.outcome = 'client_aborted';
    const durationMs = ctx.elapsedMs();
    this.deps.metrics.observe(ctx.outcome, ctx.statusCode, durationMs);
    if (this.logRequests) this.requestLog.write(ctx, durationMs);
    const { store } = this.deps;
    if (!store || ctx.unrecorded) return;
    store.append(this.deps.records.build(ctx));
  }
}

/** Two credentials naming different known callers: refused before anything is forwarded or answered. */
function ambiguity(principal: Principal): Refusal | null {
  if (principal.authError !== 'ambiguous_caller') return null;
  const headers = (principal.otherCredentials ?? []).join(', ');
  return { status: 400, message: `ambiguous caller: the credentials in ${headers} name different principals; send one`, outcome: 'rejected' };
}

/**
 * Once an answer is out (its response closed, which on a kept-alive connection follows its finish), a request body not
 * all received (refused, or answered without reading it) is not waited for at the client's pace: the connection is
 * ended, and dropped after CLOSE_LINGER_MS.
 */
function closeIfBodyUnread(req: IncomingMessage): void {
  if (req.complete || req.socket.destroyed) return;
  req.socket.end();
  setTimeout(() => req.socket.destroy(), CLOSE_LINGER_MS).unref();
}

function ignoreSocketError(): void {
  // A client socket that errors closes; its record says client_aborted or what the tunnel saw.
}

function headerValue(value: string | string[] | undefined): string | null {
  const v = Array.isArray(value) ? value[0] : value;
  return v && v.length <= 64 ? v : null;
}
