// Issue 10, findings 1 and 6 (upgrades): a client that resets an upgrade cannot take the process down, an upgrade
// the upstream refuses is recorded with the status it got, and upgrades follow the same rules as every request.
import t from 'tap';
import { createServer, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { recordOf, startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw.js';
import { eventually } from '../helpers/eventually.js';

/** An upstream that accepts WebSockets under /ws and refuses every other upgrade with 426; it remembers what arrived. */
async function upgradeUpstream() {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    res.end('upgrade somewhere else');
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    seen.push(req);
    if (req.url === '/silent') return; // a hung upstream: accepts, never answers
    if (req.url === '/stalled-refusal') {
      socket.write('HTTP/1.1 426 Upgrade Required\r\ncontent-length: 100\r\n\r\nabcde'); // and no more
      return;
    }
    if (!req.url?.startsWith('/ws')) {
      socket.end('HTTP/1.1 426 Upgrade Required\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno');
      return;
    }
    socket.on('error', () => {});
    const accept = () => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(m)));
    if (req.url.startsWith('/ws-slow')) setTimeout(accept, 50); // the client has reset by then
    else accept();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => { wss.close(); server.closeAllConnections(); server.close(); },
  };
}

const upgradeHead = (path: string, id: string, extra = '', connection = 'Upgrade') => `GET ${path} HTTP/1.1\r\nHost: x\r\n`
  + `X-Request-Id: ${id}\r\nConnection: ${connection}\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`;

async function openAndReset(port: number, head: string, waitFor: RegExp): Promise<void> {
  const socket: Socket = connect(port, '127.0.0.1');
  let seen = '';
  socket.on('data', (c: Buffer) => { seen += c.toString('latin1'); });
  socket.on('error', () => {});
  socket.write(head);
  await eventually(() => waitFor.test(seen));
  socket.write(Buffer.from([0x81, 0x85, 1, 2, 3]));
  socket.resetAndDestroy();
}

async function record(proxy: TestProxy, id: string) {
  return eventually(async () => await recordOf(proxy, id));
}

t.test('finding 1: resets during a tunnel or a refused upgrade do not crash the proxy, and each is recorded', async (t) => {
  const upstream = await upgradeUpstream();
  const proxy = await startTestProxy(upstream.url);
  t.teardown(async () => {
    await proxy.close();
    upstream.close();
  });
  for (let i = 0; i < 5; i++) {
    await openAndReset(proxy.port, upgradeHead('/ws', `reset-open-${i}`), /101 Switching Protocols/);
    await openAndReset(proxy.port, upgradeHead('/refuse', `reset-refused-${i}`), /426/);
  }
  for (let i = 0; i < 10; i++) {
    const socket = connect(proxy.port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write(upgradeHead('/ws-slow', `reset-early-${i}`));
    // Reset once the upgrade reached the upstream (which answers 50 ms later): a reset the proxy reads before the
    // request's bytes (a loaded machine) means no request arrived at all.
    await eventually(() => upstream.seen.some((r) => r.headers['x-request-id'] === `reset-early-${i}`));
    socket.resetAndDestroy(); // the proxy then writes the upstream's 101 onto a reset socket
  }
  await new Promise((r) => setTimeout(r, 200));
  t.same((await record(proxy, 'reset-early-9'))?.outcome, 'client_aborted', 'a client that reset before the 101: client_aborted');
  const alive = await rawRequest(proxy.port, upgradeHead('/refuse', 'refused-whole'));
  t.match(alive, /^HTTP\/1\.1 426 /, 'the proxy lives on and relays the refusal');
  const tunnel = await record(proxy, 'reset-open-4');
  t.same([tunnel?.statusCode, tunnel?.outcome], [101, 'completed'], 'a tunnel the client reset: 101, recorded');
  const refusedReset = await record(proxy, 'reset-refused-4');
  t.equal(refusedReset?.statusCode, 426, 'a refusal the client reset mid-way: recorded with the upstream\'s 426');
  const refused = await record(proxy, 'refused-whole');
  t.same([refused?.statusCode, refused?.outcome], [426, 'completed'], 'a refused upgrade is recorded as 426, not 101');
});

t.test('finding 6: upgrades follow the request rules: ambiguous paths, own paths, forwarded headers', async (t) => {
  const upstream = await upgradeUpstream();
  const proxy = await startTestProxy(upstream.url, { capture: { exclude: ['/v1/ping/*'] } });
  t.teardown(async () => {
    await proxy.close();
    upstream.close();
  });
  const dotted = await rawRequest(proxy.port, upgradeHead('/v1/ping/../../ws/chat', 'up-dotted'));
  t.match(dotted, /^HTTP\/1\.1 400 /, 'an upgrade to a path with dot segments is refused');
  t.same((await record(proxy, 'up-dotted'))?.statusCode, 400, 'and recorded');
  const own = await rawRequest(proxy.port, upgradeHead('/v1/audit-logs', 'up-own'));
  t.match(own, /^HTTP\/1\.1 400 [^]*own endpoints/, 'an upgrade to an own path is refused, not forwarded');
  t.notOk(upstream.seen.some((r) => r.url === '/v1/audit-logs'), 'nothing reached the upstream');
  t.equal((await record(proxy, 'up-own'))?.statusCode, 400);

  const oddTarget = `/ws/{a}/"b"?q='x'&r=<y>`;
  await openAndReset(proxy.port, upgradeHead(oddTarget, 'up-target'), /101/);
  t.equal(upstream.seen.find((r) => r.headers['x-request-id'] === 'up-target')?.url, oddTarget, 'the target goes up as sent, not re-encoded');
  t.equal((await record(proxy, 'up-target'))?.path, '/ws/{a}/"b"', 'as it is recorded');
  const fragment = await rawRequest(proxy.port, upgradeHead('/ws#/health', 'up-fragment'));
  t.match(fragment, /^HTTP\/1\.1 400 [^]*must not contain #/, 'a fragment is refused');

  await openAndReset(proxy.port, upgradeHead('/ws/headers', 'up-headers', 'X-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\n'
    + 'X-Api-Key: hidden-key\r\nForwarded: for=198.51.100.7\r\nX-Original-URL: /admin\r\n', 'Upgrade, X-Api-Key'), /101/);
  const arrived = upstream.seen.find((r) => r.headers['x-request-id'] === 'up-headers')!;
  t.equal(arrived.headers['x-forwarded-host'], 'x', 'X-Forwarded-Host from an untrusted peer replaced');
  t.equal(arrived.headers['x-forwarded-proto'], 'http', 'X-Forwarded-Proto from an untrusted peer replaced');
  t.same([arrived.headers.forwarded, arrived.headers['x-original-url']], [undefined, undefined], 'Forwarded and X-Original-URL removed');
  t.equal(arrived.headers['x-api-key'], undefined, 'a header named in Connection is not forwarded (and so did not identify the caller)');
  t.equal((await record(proxy, 'up-headers'))?.principalType, 'anonymous');
});

t.test('an upstream that never answers an upgrade, or stalls its refusal: answered or cut off within upstream.timeoutMs, recorded', async (t) => {
  // Found by review: http-proxy-3 sets no timeout on an upgrade, so both sockets were held for good, with no record.
  const upstream = await upgradeUpstream();
  const proxy = await startTestProxy(upstream.url, { upstream: { timeoutMs: 500 } });
  t.teardown(async () => {
    await proxy.close();
    upstream.close();
  });
  const silent = await rawRequest(proxy.port, upgradeHead('/silent', 'up-silent'), 5_000);
  t.match(silent, /^HTTP\/1\.1 504 /, 'a 504, not a wait without end');
  t.match(await record(proxy, 'up-silent'), { statusCode: 504, outcome: 'upstream_timeout', outcomeDetail: /timeout/ });
  const stalled = await rawRequest(proxy.port, upgradeHead('/stalled-refusal', 'up-stalled'), 5_000);
  t.match(stalled, /^HTTP\/1\.1 426 [^]*abcde$/, 'the refusal as far as it came, then a close');
  t.match(await record(proxy, 'up-stalled'), { statusCode: 426, outcome: 'upstream_error' });
});
