import type { ClientRequest, IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { errors } from 'undici';
import type { Config } from '../config/schema.js';
import { ERRORS, errorBody } from '../errors.js';
import type { Logger } from '../log.js';
import type { RequestContext } from './context.js';
import { basePathOf } from './forward.js';
import { connectionNamedHeaders, HOP_CONTEXT_FROM_UNTRUSTED, proxySetHeaders } from './headers.js';
import { classifyUpstreamError, describeUpstreamError } from './upstream-errors.js';

/** WebSocket upgrades, carried by http-proxy-3's ws path; the socket's life is the request's duration. */
export class WebSocketTransport {
  private readonly proxy: ReturnType<typeof createProxyServer>;
  private readonly sockets = new Set<Duplex>();
  private readonly tunnels = new WeakMap<IncomingMessage, Tunnel>();
  private readonly basePath: string;

  constructor(private readonly upstream: Config['upstream'], private readonly logger: Logger) {
    this.basePath = basePathOf(upstream.url);
    this.proxy = createProxyServer({
      target: upstream.url,
      ws: true,
      changeOrigin: upstream.changeOrigin,
      proxyTimeout: upstream.timeoutMs,
    });
    this.proxy.on('proxyReqWs', (proxyReq, req) => {
      const tunnel = this.tunnels.get(req);
      if (tunnel) this.prepare(proxyReq, tunnel);
    });
    this.proxy.on('open', (proxySocket) => this.track(proxySocket));
    // http-proxy-3 re-emits every client socket error (a reset mid-tunnel) on the proxy: without a listener the
    // process would die of it. The socket's close still ends the request and its record.
    this.proxy.on('error', (err) => this.logger.debug({ err: String(err) }, 'websocket client socket error'));
  }

  /** Proxies the upgrade; `done` runs once when the client socket is gone. */
  upgrade(ctx: RequestContext, socket: Duplex, head: Buffer, done: () => void): void {
    const tunnel: Tunnel = { ctx, socket, relayed: false };
    this.tunnels.set(ctx.req, tunnel);
    this.track(socket);
    socket.once('close', () => {
      ctx.requestBytes = (socket as Duplex & { bytesRead?: number }).bytesRead ?? 0;
      ctx.responseBytes = (socket as Duplex & { bytesWritten?: number }).bytesWritten ?? 0;
      // No answer from the upstream yet, or a refusal not relayed to its end: the client left first.
      if (ctx.outcome === 'completed' && (ctx.statusCode === 0 || (ctx.statusCode !== 101 && !tunnel.relayed))) {
        ctx.outcome = 'client_aborted';
      }
      done();
    });
    this.proxy.ws(ctx.req, socket, head, {}, (err: unknown) => {
      const code = classifyUpstreamError(err);
      this.logger.warn({ requestId: ctx.requestId, err: String(err) }, 'websocket upgrade failed');
      // The upstream had answered: a refusal that broke off is the upstream's failure (a tunnel's end is not).
      const brokenRefusal = ctx.statusCode !== 0 && ctx.statusCode !== 101 && !tunnel.relayed;
      if (ctx.statusCode === 0 || brokenRefusal) ctx.outcomeDetail = describeUpstreamError(err, this.upstream.timeoutMs);
      if (brokenRefusal) ctx.outcome = 'upstream_error';
      if (ctx.statusCode !== 0) return;
      ctx.outcome = ERRORS[code].outcome;
      ctx.statusCode = ERRORS[code].status;
      ctx.ttfbMs = ctx.elapsedMs();
      answerOnSocket(socket, ERRORS[code].status, errorBody(ERRORS[code].status, ERRORS[code].message, ctx.requestId));
    });
  }

  /**
   * The upgrade request as it goes up: headers the client named in Connection removed (they did not identify the
   * caller), X-Forwarded-* and X-Request-Id set by the same rule as for every request; the upstream's answer noted.
   */
  private prepare(proxyReq: ClientRequest, tunnel: Tunnel): void {
    const { ctx } = tunnel;
    proxyReq.path = this.basePath + (ctx.req.url ?? '/'); // as recorded: http-proxy-3 would re-encode it through URL
    for (const name of connectionNamedHeaders(ctx.req)) proxyReq.removeHeader(name);
    if (!ctx.peerTrusted) for (const name of HOP_CONTEXT_FROM_UNTRUSTED) proxyReq.removeHeader(name);
    proxyReq.setHeader('connection', 'Upgrade');
    const set = proxySetHeaders(ctx.req, {
      requestId: ctx.requestId, peerIp: ctx.peerIp, peerTrusted: ctx.peerTrusted, changeOrigin: this.upstream.changeOrigin, scheme: 'http',
    });
    for (const [name, value] of Object.entries(set)) proxyReq.setHeader(name, value);
    if (!set['x-forwarded-host']) proxyReq.removeHeader('x-forwarded-host');
    // http-proxy-3 sets no timeout on an upgrade: an upstream that never answers, or stalls a refusal's body, would hold
    // both sockets for good. The idle limit ends at the 101, when the socket becomes the tunnel.
    proxyReq.setTimeout(this.upstream.timeoutMs, () => proxyReq.destroy(new errors.HeadersTimeoutError()));
    proxyReq.once('upgrade', (proxyRes: IncomingMessage) => {
      proxyReq.setTimeout(0);
      this.answered(ctx, proxyRes);
    });
    proxyReq.once('response', (proxyRes: IncomingMessage) => {
      this.answered(ctx, proxyRes);
      proxyRes.once('end', () => { tunnel.relayed = true; });
      proxyRes.once('close', () => {
        if (proxyRes.complete) return;
        ctx.outcome = 'upstream_error'; // the refusal broke off: the client must see a broken answer, not wait
        tunnel.socket.destroy();
      });
    });
  }

  private answered(ctx: RequestContext, proxyRes: IncomingMessage): void {
    proxyRes.on('error', ignoreSocketError); // an upstream that resets mid-answer must not take the process down
    ctx.statusCode = proxyRes.statusCode ?? 0;
    ctx.ttfbMs = ctx.elapsedMs();
  }

  /** Ends every open tunnel (used at the end of a graceful shutdown). */
  close(): void {
    for (const socket of this.sockets) socket.destroy();
    this.proxy.close();
  }

  private track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }
}

/** One upgrade in flight: its context, and whether a refusal from the upstream was relayed to its end. */
interface Tunnel {
  ctx: RequestContext;
  /** The client's socket. */
  socket: Duplex;
  relayed: boolean;
}

/** An HTTP answer written straight onto an upgrade socket (there is no ServerResponse for an upgrade). */
export function answerOnSocket(socket: Duplex, status: number, body: string, headers: Record<string, string> = {}): number {
  if (!socket.writable) return 0;
  const length = Buffer.byteLength(body);
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, 'content-type: application/json; charset=utf-8',
    `content-length: ${length}`, 'connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  return length;
}

function ignoreSocketError(): void {
  // Socket errors end in close; the record says what the tunnel saw.
}
