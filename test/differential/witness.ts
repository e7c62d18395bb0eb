import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';

/** What reached the upstream for one request, exactly as it arrived. */
export interface Arrival {
  method: string;
  /** The raw request target. */
  target: string;
  rawHeaders: string[];
  bodyBytes: number;
  /** The whole body arrived (false when the proxy gave up on it mid-way). */
  complete: boolean;
  upgrade: boolean;
}

/** An upstream that answers everything and remembers every arrival, by the X-Request-Id the proxy set. */
export class Witness {
  private readonly arrivals = new Map<string, Arrival[]>();
  private server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const arrival = this.note(req, false);
      req.on('data', (c: Buffer) => { arrival.bodyBytes += c.length; });
      req.on('end', () => {
        arrival.complete = true;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ seen: arrival.target }));
      });
      req.on('error', () => {});
      res.on('error', () => {});
    });
    this.server.on('upgrade', (req: IncomingMessage, socket) => {
      this.note(req, true).complete = true;
      socket.on('error', () => {});
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
        + 'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n');
      setTimeout(() => socket.destroy(), 20);
    });
    this.server.on('clientError', (_err, socket) => socket.destroy());
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Every arrival carrying this request id (the invariant wants at most one). */
  arrivalsOf(requestId: string): Arrival[] {
    return this.arrivals.get(requestId) ?? [];
  }

  /** Arrivals without a request id the proxy set: none may exist. */
  anonymousArrivals(): Arrival[] {
    return this.arrivalsOf('');
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private note(req: IncomingMessage, upgrade: boolean): Arrival {
    const arrival: Arrival = {
      method: req.method ?? '', target: req.url ?? '', rawHeaders: req.rawHeaders, bodyBytes: 0, complete: false, upgrade,
    };
    const id = headerOf(req.rawHeaders, 'x-request-id') ?? '';
    const list = this.arrivals.get(id) ?? [];
    list.push(arrival);
    this.arrivals.set(id, list);
    return arrival;
  }
}

/** Every value of a header, in order, from raw headers. */
export function headerValues(rawHeaders: readonly string[], lower: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === lower) out.push(rawHeaders[i + 1]!);
  return out;
}

function headerOf(rawHeaders: readonly string[], lower: string): string | null {
  return headerValues(rawHeaders, lower)[0] ?? null;
}
