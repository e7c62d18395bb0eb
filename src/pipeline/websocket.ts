import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import type { Config } from '../config/schema.js';
import { ERRORS, errorBody } from '../errors.js';
import type { Logger } from '../log.js';
import type { RequestContext } from './context.js';
import { classifyUpstreamError } from './upstream-errors.js';

/** WebSocket upgrades, carried by http-proxy-3's ws path; the socket's life is the request's duration. */
export class WebSocketTransport {
  private readonly proxy: ReturnType<typeof createProxyServer>;
  private readonly sockets = new Set<Duplex>();

  constructor(upstream: Config['upstream'], private readonly logger: Logger) {
    this.proxy = createProxyServer({
      target: upstream.url,
      ws: true,
      xfwd: true,
      changeOrigin: upstream.changeOrigin,
      proxyTimeout: upstream.timeoutMs,
    });
    this.proxy.on('proxyReqWs', (proxyReq, req) => {
      proxyReq.setHeader('x-request-id', (req as IncomingMessage & { auditRequestId?: string }).auditRequestId ?? '');
    });
    this.proxy.on('open', (proxySocket) => this.track(proxySocket));
  }

  /** Proxies the upgrade; `done` runs once when the client socket is gone. */
  upgrade(ctx: RequestContext, socket: Duplex, head: Buffer, done: () => void): void {
    (ctx.req as IncomingMessage & { auditRequestId?: string }).auditRequestId = ctx.requestId;
    ctx.statusCode = 101;
    this.track(socket);
    socket.once('close', () => {
      ctx.requestBytes = (socket as Duplex & { bytesRead?: number }).bytesRead ?? 0;
      ctx.responseBytes = (socket as Duplex & { bytesWritten?: number }).bytesWritten ?? 0;
      done();
    });
    this.proxy.ws(ctx.req, socket, head, {}, (err: unknown) => {
      const code = classifyUpstreamError(err);
      this.logger.warn({ requestId: ctx.requestId, err: String(err) }, 'websocket upgrade failed');
      ctx.outcome = ERRORS[code].outcome;
      ctx.statusCode = ERRORS[code].status;
      answerOnSocket(socket, ERRORS[code].status, errorBody(ERRORS[code].status, ERRORS[code].message, ctx.requestId));
    });
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

/** An HTTP answer written straight onto an upgrade socket (there is no ServerResponse for an upgrade). */
export function answerOnSocket(socket: Duplex, status: number, body: string, headers: Record<string, string> = {}): number {
  if (!socket.writable) return 0;
  const length = Buffer.byteLength(body);
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, 'content-type: application/json; charset=utf-8',
    `content-length: ${length}`, 'connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  return length;
}
