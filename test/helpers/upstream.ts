import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  bodyBytes: number;
  body: string;
}

export type Route = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

/** A real upstream on loopback: echoes requests as JSON unless a route for the path says otherwise. */
export class TestUpstream {
  readonly seen: SeenRequest[] = [];
  readonly routes = new Map<string, Route>();
  /** Requests whose client side closed before the response finished (the proxy aborted them). */
  aborted = 0;
  private server!: Server;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Routes that stream or hang handle the body themselves: no buffering for paths starting /stream. */
  private handle(req: IncomingMessage, res: ServerResponse): void {
    res.on('close', () => {
      if (!res.writableFinished) this.aborted++;
    });
    const path = (req.url ?? '/').split('?')[0]!;
    const route = this.routes.get(path);
    if (route && path.startsWith('/stream')) {
      route(req, res, Buffer.alloc(0));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      this.seen.push({
        method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders,
        bodyBytes: body.length, body: body.toString('utf8'),
      });
      if (route) return route(req, res, body);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyBytes: body.length }));
    });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
