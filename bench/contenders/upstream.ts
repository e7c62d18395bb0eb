// The upstream every contender forwards to: as little work per request as node allows, so it is not the bottleneck.
// GET /big?bytes=N streams N bytes; POST drains the body; anything else answers a small JSON body.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const SMALL = Buffer.from('{"ok":true,"items":[1,2,3]}');
const SMALL_HEADERS = { 'content-type': 'application/json', 'content-length': String(SMALL.length) };
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

function streamBytes(res: ServerResponse, total: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const size = Math.min(left, CHUNK.length);
      left -= size;
      if (!res.write(size === CHUNK.length ? CHUNK : CHUNK.subarray(0, size))) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'GET' && req.url?.startsWith('/big?bytes=')) return streamBytes(res, Number(req.url.slice(11)));
  if (req.method === 'POST') {
    req.resume();
    req.once('end', () => res.writeHead(200, SMALL_HEADERS).end(SMALL));
    return;
  }
  res.writeHead(200, SMALL_HEADERS).end(SMALL);
}

const server = createServer({ keepAliveTimeout: 120_000 }, handle);
server.listen(Number(process.argv[2]), '127.0.0.1');
