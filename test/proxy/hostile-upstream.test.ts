// A broken or hostile upstream (found by review): the client is always answered, and the record says what it got.
import t from 'tap';
import { once } from 'node:events';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { request } from 'undici';
import { recordOf, startTestProxy, type TestProxy } from '../helpers/proxy.js';

/** Raw answers by path: each writes bytes on the socket as a broken server would. */
const answers: Record<string, (socket: Socket) => void> = {
  '/bad-reason': (s) => s.end('HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok'),
  '/bad-reason-404': (s) => s.end('HTTP/1.1 404 Not\x1bFound\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\ngone'),
  '/head-then-close': (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n'),
  '/head-then-reset': (s) => { s.write('HTTP/1.1 500 Oops\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n'); setTimeout(() => s.resetAndDestroy(), 20); },
  '/not-modified': (s) => s.end('HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 1234\r\n\r\n'),
  '/gzip-error': (s) => {
    const body = gzipSync('{"error":"boom","token":"sk-live-secret-000"}');
    s.end(Buffer.concat([Buffer.from(`HTTP/1.1 500 Oops\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
  },
};

let proxy: TestProxy;
let upstream: ReturnType<typeof createServer>;

t.before(async () => {
  upstream = createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (chunk: Buffer) => answers[chunk.toString('latin1').split(' ')[1]!]?.(socket));
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  proxy = await startTestProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, {
    upstream: { timeoutMs: 2_000 }, capture: { responseBody: { enabled: true } },
  });
});
t.teardown(async () => {
  await proxy.close();
  upstream.close();
});

async function get(path: string) {
  const id = `hostile${path.replaceAll('/', '-')}`;
  const res = await request(`${proxy.url}${path}`, { headers: { 'x-request-id': id } });
  const body = await res.body.text();
  return { status: res.statusCode, body, record: await recordOf(proxy, id) };
}

t.test('a reason phrase with a control character: the client gets the status and body, without that phrase', async (t) => {
  const ok = await get('/bad-reason');
  t.same([ok.status, ok.body], [200, 'ok'], 'before: no answer at all, and a recorded 502');
  t.match(ok.record, { statusCode: 200, outcome: 'completed' });
  const gone = await get('/bad-reason-404');
  t.same([gone.status, gone.body], [404, 'gone']);
  t.match(gone.record, { statusCode: 404, responseBody: 'gone' });
});

t.test('a head with Content-Length and then no body: the client gets 502, and the record says 502', async (t) => {
  const closed = await get('/head-then-close');
  t.equal(closed.status, 502, 'before: a 200 recorded, nothing sent');
  t.match(closed.record, { statusCode: 502, outcome: 'upstream_error' });
  const reset = await get('/head-then-reset');
  t.equal(reset.status, 502);
  t.match(reset.record, { statusCode: 502, outcome: 'upstream_error', responseBody: null });
});

t.test('a 304 declaring the length of what it stands for is a 304, not an upstream error', async (t) => {
  // node:http as the client: undici (like the proxy's own pool) fails a 304 whose Content-Length is not 0.
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    httpGet(`${proxy.url}/not-modified`, { headers: { 'x-request-id': 'hostile-304' } }, resolve).on('error', reject);
  });
  res.resume();
  await once(res, 'end');
  t.same([res.statusCode, res.headers.etag], [304, '"x"'], 'before: 502');
  t.match(await recordOf(proxy, 'hostile-304'), { statusCode: 304, outcome: 'completed' });
});

t.test('a content-coded error body reaches the client as sent, and the record says it was not captured', async (t) => {
  const res = await request(`${proxy.url}/gzip-error`, { headers: { 'x-request-id': 'hostile-gzip' } });
  const body = Buffer.from(await res.body.arrayBuffer());
  t.equal(res.statusCode, 500);
  t.equal(gunzipSync(body).toString(), '{"error":"boom","token":"sk-live-secret-000"}', 'passed through untouched');
  // Before: the gzip bytes were kept as text, so the record held "[unredactable body omitted]" or mojibake.
  t.match(await recordOf(proxy, 'hostile-gzip'), { statusCode: 500, responseBody: '[gzip-encoded body not captured]' });
});
