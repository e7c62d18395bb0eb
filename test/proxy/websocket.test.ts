import t from 'tap';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { WebSocket } from 'undici';
import { startTestProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/eventually.js';
import { rawRequest } from '../helpers/raw.js';

async function wsUpstream() {
  const server = createServer((_req, res) => res.end('plain http'));
  const wss = new WebSocketServer({ server });
  const seenHeaders: Record<string, string | string[] | undefined>[] = [];
  wss.on('connection', (socket, req) => {
    seenHeaders.push(req.headers);
    socket.send('hello from upstream');
    socket.on('message', (data) => socket.send(`echo: ${data.toString()}`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seenHeaders, close: () => { wss.close(); server.closeAllConnections(); server.close(); } };
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.addEventListener('message', (e) => resolve(String(e.data)), { once: true });
    ws.addEventListener('error', () => reject(new Error('websocket error')), { once: true });
  });
}

t.test('WebSocket upgrades are proxied both ways', async (t) => {
  const upstream = await wsUpstream();
  const proxy = await startTestProxy(upstream.url);
  t.teardown(async () => {
    await proxy.close();
    upstream.close();
  });
  const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/socket`);
  t.equal(await nextMessage(ws), 'hello from upstream', 'upstream -> client');
  ws.send('ping');
  t.equal(await nextMessage(ws), 'echo: ping', 'client -> upstream -> client');
  const headers = upstream.seenHeaders[0]!;
  t.match(headers['x-request-id'], /^[0-9a-f-]{36}$/, 'the request id went upstream');
  t.equal(headers['x-forwarded-for'], '127.0.0.1');
  const closed = once(ws, 'close');
  ws.close();
  await closed;
 const logged = await eventually(() => proxy.logs.find((line) => line.includes('"path":"/socket"')));
  t.match(logged, /"status":101/, 'the upgrade is one request with status 101, finished when the socket closes');
});

t.test('a non-WebSocket upgrade is refused with 400; a dead upstream with 502', async (t) => {
  const proxy = await startTestProxy('http://127.0.0.1:1');
  t.teardown(() => proxy.close());
  const h2c = await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
  t.match(h2c, /^HTTP\/1\.1 400 /);
  const dead = await rawRequest(proxy.port, 'GET /s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n'
    + 'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  t.match(dead, /^HTTP\/1\.1 502 /);
  t.match(dead, /"code":502/);
});
