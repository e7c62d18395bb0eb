import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool, errors, type Dispatcher } from 'undici';
import type { Config } from '../config/schema.js';
import { ERRORS } from '../errors.js';
import type { RequestContext } from './context.js';
import { BodyCapture } from './capture.js';
import { downstreamResponseHeaders, firstValue, hasRequestBody, upstreamRequestHeaders } from './headers.js';
import { BodyDecodeError, PacedBody, SlowBodyError, decodedBody } from './request-body.js';
import { classifyUpstreamError, describeUpstreamError } from './upstream-errors.js';

/** Carries one request to the upstream and its response back; the pipeline does not care how. */
export interface Transport {
  forward(ctx: RequestContext, options: ForwardOptions): void;
  close(): Promise<void>;
}

export interface ForwardOptions {
  /** Capture the body of an error response (status >= 400) up to this many bytes; 0 = off. */
  errorBodyMaxBytes: number;
  isTextLike: (contentType: string | undefined) => boolean;
  /** Called when a request body is refused for arriving too slowly (counted in /metrics). */
  onSlowBody: () => void;
}

/** The upstream URL's path, prefixed to every target as the client sent it ('' for the root). */
export function basePathOf(upstreamUrl: string): string {
  const { pathname } = new URL(upstreamUrl);
  return pathname === '/' ? '' : pathname.replace(/\/$/, '');
}

class ClientGoneError extends Error {
  override name = 'ClientGoneError';
}

/**
 * undici keep-alive pools to one upstream origin; bodies streamed both ways with backpressure. A request body is
 * received up to server.requestBufferBytes before any upstream connection is taken; a body larger than that streams
 * over its own pool of half the connections, so slow uploads can never hold every connection other requests need.
 */
export class UndiciTransport implements Transport {
  private readonly pool: Pool;
  private readonly uploads: Pool;
  private readonly basePath: string;
  private readonly changeOrigin: boolean;
  private readonly headersTimeoutMs: number;

  constructor(upstream: Config['upstream'], private readonly server: Config['server']) {
    const url = new URL(upstream.url);
    this.basePath = basePathOf(upstream.url);
    this.changeOrigin = upstream.changeOrigin;
    this.headersTimeoutMs = upstream.timeoutMs;
    const options = {
      pipelining: 1,
      keepAliveTimeout: upstream.keepAliveTimeoutMs,
      connectTimeout: upstream.connectTimeoutMs,
      // undici's own headers timer ticks every ~500 ms (1000 ms fired after 1.5 s); ForwardHandler keeps an exact one.
      headersTimeout: 0,
      bodyTimeout: upstream.bodyTimeoutMs,
      connect: { servername: url.hostname },
    };
    this.pool = new Pool(url.origin, { ...options, connections: upstream.connections });
    this.uploads = new Pool(url.origin, { ...options, connections: Math.max(1, Math.floor(upstream.connections / 2)) });
  }

  forward(ctx: RequestContext, options: ForwardOptions): void {
    const { req } = ctx;
    const handler = new ForwardHandler(ctx, options, this.headersTimeoutMs);
    if (!hasRequestBody(req.headers)) {
      this.dispatch(this.pool, ctx, null, handler);
      return;
    }
    req.on('error', ignoreClientError);
    const pace = { windowMs: this.server.bodyTimeoutMs, minBytesPerSecond: this.server.minBodyBytesPerSecond };
    const body = new PacedBody(decodedBody(req), pace, (chunk) => {
      ctx.requestBytes += chunk.length;
      ctx.requestBody?.add(chunk);
      handler.requestProgress();
    });
    ctx.res.once('close', () => body.stop()); // however the exchange ended, the watchdog's timer goes with it
    body.prefetch(this.server.requestBufferBytes).then(() => {
      if (ctx.clientClosed) {
        body.stop();
        ctx.outcome = 'client_aborted'; // left before anything was sent upstream
        return;
      }
      this.dispatch(body.complete ? this.pool : this.uploads, ctx, body.stream(), handler);
    }, (err: Error) => {
      body.stop();
      handler.onResponseError(null, err);
    });
  }

  private dispatch(pool: Pool, ctx: RequestContext, body: AsyncGenerator<Buffer> | null, handler: ForwardHandler): void {
    const { req } = ctx;
    pool.dispatch({
      path: this.basePath + (req.url ?? '/'),
      method: req.method ?? 'GET',
      headers: upstreamRequestHeaders(req, {
        requestId: ctx.requestId,
        peerIp: ctx.peerIp,
        peerTrusted: ctx.peerTrusted,
        changeOrigin: this.changeOrigin,
        scheme: 'http',
      }),
      // undici takes async iterables (its typings lag behind): pull-based, so backpressure is kept.
      body: body as unknown as IncomingMessage | null,
    }, handler);
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.uploads.close()]);
  }
}

/** An HTTP reason phrase (RFC 9112: tab, space, visible ASCII, obs-text); any other byte makes Node throw at writeHead. */
const VALID_REASON = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * A 304 may declare the Content-Length of the representation it stands for and has no body (RFC 9110 8.6), but
 * undici 7 checks the length and fails it: such a response ended normally.
 */
function bodylessWithLength(statusCode: number, err: Error, bytes: number): boolean {
  return statusCode === 304 && bytes === 0 && (err as { code?: string }).code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH';
}

function ignoreClientError(): void {
  // A client that vanishes mid-upload is recorded as client_aborted; the stream error itself needs no handling.
}

class ForwardHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private clientGone = false;
  /** Waits for the response head from dispatch on (restarted by every request body chunk, as undici's did). */
  private headersTimer: NodeJS.Timeout | null = null;
  private timedOut: Error | null = null;
  private timeoutAnswered = false;
  /** A head with Content-Length is written with its first body byte (or its end): until then the client has none. */
  private pendingHead: (() => void) | null = null;
  private readonly res: ServerResponse;

  constructor(private readonly ctx: RequestContext, private readonly options: ForwardOptions, private readonly timeoutMs: number) {
    this.res = ctx.res;
    this.res.once('close', this.onClientClose);
    this.headersTimer = setTimeout(this.onHeadersTimeout, timeoutMs);
  }

  requestProgress(): void {
    this.headersTimer?.refresh();
  }

  private stopHeadersTimer(): void {
    if (this.headersTimer) clearTimeout(this.headersTimer);
    this.headersTimer = null;
  }

  private readonly onHeadersTimeout = (): void => {
    this.headersTimer = null;
    this.timedOut = new errors.HeadersTimeoutError();
    // Before a socket was assigned there is no controller yet: answer now, abort once one comes.
    if (this.controller) {
      this.controller.abort(this.timedOut);
      return;
    }
    this.timeoutAnswered = true;
    this.answerError(this.timedOut);
  };

  private readonly onClientClose = (): void => {
    this.stopHeadersTimer();
    if (this.res.writableFinished) return;
    this.clientGone = true; // the pipeline records the outcome; here the upstream request is let go
    this.controller?.abort(new ClientGoneError('client closed the connection'));
  };

  private readonly resume = (): void => {
    this.controller?.resume();
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new ClientGoneError('client closed the connection'));
    else if (this.timedOut) controller.abort(this.timedOut);
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    if (statusCode < 200) return; // 1xx: node answers 100-continue itself; others carry nothing to forward
    this.stopHeadersTimer();
    const { ctx, res } = this;
    ctx.ttfbMs = ctx.elapsedMs();
    ctx.statusCode = statusCode;
    if (statusCode >= 400 && this.options.errorBodyMaxBytes > 0) {
      ctx.responseContentType = firstValue(headers['content-type']);
      const coding = firstValue(headers['content-encoding'])?.trim().toLowerCase();
      if (coding && coding !== 'identity') ctx.responseCoding = /^[a-z0-9_.-]{1,32}$/.test(coding) ? coding : 'unknown';
      else if (this.options.isTextLike(ctx.responseContentType)) ctx.responseBody = new BodyCapture(this.options.errorBodyMaxBytes);
    }
    const reason = statusMessage && VALID_REASON.test(statusMessage) ? statusMessage : undefined;
    const writeHead = (): void => void res.writeHead(statusCode, reason, downstreamResponseHeaders(headers, ctx.requestId));
    // Without a length the body may trickle (SSE, long polls): let the client see the headers now. With one, the head
    // waits for the body, so a failure before it is answered as what it is, not recorded as a status never sent.
    if (headers['content-length'] === undefined) {
      writeHead();
      res.flushHeaders();
    } else {
      this.pendingHead = writeHead;
    }
  }

  private writePendingHead(): void {
    this.pendingHead?.();
    this.pendingHead = null;
  }

  /** The upstream's head never went out: the client is told what happened instead, and its body is not recorded. */
  private dropPendingHead(): void {
    if (!this.pendingHead) return;
    this.pendingHead = null;
    this.ctx.responseBody = null;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.writePendingHead();
    this.ctx.responseBytes += chunk.length;
    this.ctx.responseBody?.add(chunk);
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', this.resume);
    }
  }

  onResponseEnd(): void {
    this.writePendingHead();
    this.res.end();
  }

  onResponseError(_c: Dispatcher.DispatchController | null, err: Error): void {
    this.stopHeadersTimer();
    const { ctx, res } = this;
    if (err instanceof SlowBodyError || err instanceof BodyDecodeError) {
      this.refuseBody(err);
      return;
    }
    if (this.clientGone || err instanceof ClientGoneError || (ctx.req.destroyed && !ctx.req.complete)) {
      ctx.outcome = 'client_aborted';
      if (this.pendingHead) ctx.statusCode = 0; // no status reached the client
      res.destroy();
      return;
    }
    if (this.timeoutAnswered) return; // the 504 went out before a socket was assigned; this is the abort's echo
    if (this.pendingHead && bodylessWithLength(ctx.statusCode, err, ctx.responseBytes)) {
      this.onResponseEnd();
      return;
    }
    this.answerError(this.timedOut ?? err);
  }

  private answerError(err: Error): void {
    const { ctx, res } = this;
    const { status, outcome, message } = ERRORS[classifyUpstreamError(err)];
    ctx.outcomeDetail = describeUpstreamError(err, this.timeoutMs);
    this.dropPendingHead();
    if (res.headersSent) {
      ctx.outcome = outcome;
      res.destroy(); // mid-body: the client must see a broken response, not a short "complete" one
      return;
    }
    ctx.replyError(status, message, outcome);
  }

  /** The client's body was too slow or undecodable: told so (408 or 400) and the connection closed behind it. */
  private refuseBody(err: SlowBodyError | BodyDecodeError): void {
    const { ctx, res } = this;
    this.dropPendingHead();
    const slow = err instanceof SlowBodyError;
    if (slow) this.options.onSlowBody();
    if (res.headersSent) {
      ctx.outcome = 'rejected';
      res.destroy();
      return;
    }
    const message = slow ? `the request body arrived too slowly (${err.message})` : err.message;
    // The pipeline closes a connection whose request body was not all read once the answer is out.
    ctx.replyError(slow ? 408 : 400, message, 'rejected', { connection: 'close' });
  }
}
