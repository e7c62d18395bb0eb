import { STATUS_CODES, createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { once } from 'node:events';
import type { Config } from './config/schema.js';
import type { Logger } from './log.js';
import { maskUrl } from './net/url-mask.js';
import { buildServices, type Services } from './services.js';

/** A listening proxy and the way to stop it. */
export interface RunningProxy {
  readonly server: Server;
  readonly port: number;
  readonly services: Services;
  /** Stop accepting, let in-flight requests finish (at most drainTimeoutMs), commit every record, close. */
  close(): Promise<void>;
}

const CLIENT_ERROR_STATUS: Record<string, number> = { HPE_HEADER_OVERFLOW: 431, ERR_HTTP_REQUEST_TIMEOUT: 408 };
const CLIENT_ERROR_MESSAGE: Record<number, string> = {
  431: 'request headers too large', 408: 'request head not received in time (server.headersTimeoutMs)',
};

export async function startProxy(config: Config, logger: Logger): Promise<RunningProxy> {
  const services = await buildServices(config, logger);
  const { pipeline } = services;
  const server = createServer({
    keepAliveTimeout: config.server.keepAliveTimeoutMs,
    maxHeaderSize: config.server.maxHeaderBytes,
    requestTimeout: config.server.requestTimeoutMs,
    headersTimeout: config.server.headersTimeoutMs,
    // Node checks the head deadline on this interval (30 s by default): a fraction of the deadline keeps it near.
    connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(config.server.headersTimeoutMs / 4))),
  }, pipeline.handle);
  server.on('checkContinue', (req, res) => pipeline.handle(req, res, true));
  server.on('upgrade', pipeline.handleUpgrade);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') services.metrics.slowClient('head');
    answerClientError(err, socket, logger);
  });
  server.listen(config.listen.port, config.listen.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, host: config.listen.host, upstream: maskUrl(config.upstream.url) }, 'audit-proxy listening');
  return { server, port, services, close: () => shutdown(server, services, config, logger) };
}

async function shutdown(server: Server, services: Services, config: Config, logger: Logger): Promise<void> {
  server.close();
  server.closeIdleConnections();
  const deadline = Date.now() + config.server.drainTimeoutMs;
  while (services.pipeline.inFlight > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    server.closeIdleConnections();
  }
  if (services.pipeline.inFlight > 0) {
    logger.warn({ inFlight: services.pipeline.inFlight }, 'drain timeout: closing connections with requests in flight');
  }
  server.closeAllConnections();
  await services.close();
  logger.info('audit-proxy stopped');
}

/** Malformed requests never reach a handler: answer 400 (431 for oversized headers) and close. */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket, logger: Logger): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  // The request's handler already answered it (e.g. a bad Transfer-Encoding refused and recorded): just close.
  if ((socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
    socket.end();
    return;
  }
  const status = CLIENT_ERROR_STATUS[err.code ?? ''] ?? 400;
  const message = CLIENT_ERROR_MESSAGE[status] ?? `malformed request: ${err.code ?? 'parse error'}`;
  const body = JSON.stringify({ code: status, data: null, message, requestId: null });
  logger.debug({ code: err.code }, 'malformed request refused');
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n`
    + `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
