import t from 'tap';
import { request } from 'undici';
import { TestUpstream } from '../helpers/upstream.js';
import { recordOf, startTestProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw.js';
import { freePort } from '../helpers/ports.js';


t.test('an upstream that refuses connections gives 502 JSON, and the proxy lives on', async (t) => {
  const port = await freePort();
  const proxy = await startTestProxy(`http://127.0.0.1:${port}`);
  t.teardown(() => proxy.close());
  const res = await request(`${proxy.url}/anything`);
  t.equal(res.statusCode, 502);
  t.match(res.headers['content-type'], /application\/json/);
  const body = await res.body.json() as { code: number; message: string; requestId: string; data: null };
  t.equal(body.code, 502);
  t.match(body.message, /could not be reached/);
  t.equal(body.requestId, res.headers['x-request-id']);
  const upstream = await new TestUpstream().start(port);
  t.teardown(() => upstream.stop());
  const again = await request(`${proxy.url}/anything`);
  await again.body.dump();
  t.equal(again.statusCode, 200, 'the upstream back up is used again');
});

t.test('no response within upstream.timeoutMs gives 504', async (t) => {
  const upstream = await new TestUpstream().start();
  upstream.routes.set('/stream/hang', () => {});
  const proxy = await startTestProxy(upstream.url, { upstream: { url: upstream.url, timeoutMs: 300 } });
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  const started = Date.now();
  const res = await request(`${proxy.url}/stream/hang`);
  const body = await res.body.json() as { code: number; message: string };
  t.equal(res.statusCode, 504);
  t.equal(body.code, 504);
  t.ok(Date.now() - started < 5_000, 'answered promptly, not hung');
});

t.test('an upstream that resets mid-response gives the client a broken response, not a short complete one', async (t) => {
  const upstream = await new TestUpstream().start();
  upstream.routes.set('/stream/reset', (_req, res) => {
    res.writeHead(200, { 'content-length': '100000' });
    res.write('x'.repeat(1000));
    setTimeout(() => res.socket?.destroy(), 50);
  });
  const proxy = await startTestProxy(upstream.url);
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  const res = await request(`${proxy.url}/stream/reset`);
  t.equal(res.statusCode, 200);
  await t.rejects(res.body.text(), 'the body errors');
  const after = await request(`${proxy.url}/fine`);
  await after.body.dump();
  t.equal(after.statusCode, 200, 'the proxy lives on');
});

t.test('a client that leaves mid-download makes the proxy abort the upstream request', async (t) => {
  const upstream = await new TestUpstream().start();
  let upstreamClosed: () => void;
  const closed = new Promise<void>((resolve) => { upstreamClosed = resolve; });
  upstream.routes.set('/stream/endless', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const timer = setInterval(() => res.write('tick\n'), 10);
    res.on('close', () => {
      clearInterval(timer);
      upstreamClosed();
    });
  });
  const proxy = await startTestProxy(upstream.url);
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  const controller = new AbortController();
  const res = await request(`${proxy.url}/stream/endless`, { signal: controller.signal });
  for await (const _chunk of res.body) break;
  controller.abort();
  await closed;
  t.equal(upstream.aborted, 1, 'the upstream saw its request closed before it finished');
  await t.resolves(async () => {
    const after = await request(`${proxy.url}/fine`);
    await after.body.dump();
  }, 'the proxy lives on');
});

t.test('a client that leaves mid-upload makes the proxy abort the upstream request', async (t) => {
  const upstream = await new TestUpstream().start();
  let sawClose: () => void;
  const closed = new Promise<void>((resolve) => { sawClose = resolve; });
  let received = 0;
  upstream.routes.set('/stream/upload', (req) => {
    req.on('data', (c: Buffer) => { received += c.length; });
    req.on('close', () => sawClose());
  });
  const proxy = await startTestProxy(upstream.url);
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  const { connect } = await import('node:net');
  const socket = connect(proxy.port, '127.0.0.1');
  socket.write('POST /stream/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n');
  socket.write(Buffer.alloc(100_000, 1)); // beyond server.requestBufferBytes: the upload is streaming upstream
  await new Promise((r) => setTimeout(r, 100));
  socket.destroy();
  await closed;
  t.ok(received > 0 && received < 1_000_000, `the upstream got part of the body (${received} bytes) and then a close`);
});

t.test('malformed requests get 400 and oversized headers 431, as JSON', async (t) => {
  const upstream = await new TestUpstream().start();
  const proxy = await startTestProxy(upstream.url);
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  const garbage = await rawRequest(proxy.port, 'NOT HTTP AT ALL\r\n\r\n');
  t.match(garbage, /^HTTP\/1\.1 400 /);
  t.match(garbage, /"code":400/);
  const badTarget = await rawRequest(proxy.port, 'GET nopath HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.match(badTarget, /^HTTP\/1\.1 400 /, 'refused by the HTTP parser');
  const asterisk = await rawRequest(proxy.port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nX-Request-Id: bad-target\r\nConnection: close\r\n\r\n');
  t.match(asterisk, /^HTTP\/1\.1 400 [^]*request target must be a path/, 'a target that parses but is not a path');
  const refused = await recordOf(proxy, 'bad-target');
  t.same([refused?.path, refused?.statusCode, refused?.outcome], ['*', 400, 'rejected'], 'and is recorded, like every request the proxy refuses');
  const huge = await rawRequest(proxy.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  t.match(huge, /^HTTP\/1\.1 431 /);
  const absolute = await rawRequest(proxy.port, 'GET http://example.test/abs?q=1 HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n');
  t.match(absolute, /"url":"\/abs\?q=1"/, 'absolute-form is reduced to origin-form');
  const ok = await request(`${proxy.url}/still-alive`);
  await ok.body.dump();
  t.equal(ok.statusCode, 200);
});
