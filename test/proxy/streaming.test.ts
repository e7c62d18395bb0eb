import t from 'tap';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { TestUpstream } from '../helpers/upstream.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';

let upstream: TestUpstream;
let proxy: TestProxy;
let releaseSecondEvent: () => void = () => {};

t.before(async () => {
  upstream = await new TestUpstream().start();
  upstream.routes.set('/stream/events', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('data: first\n\n');
    releaseSecondEvent = () => res.end('data: second\n\n');
  });
  upstream.routes.set('/stream/sink', (req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (c: Buffer) => { bytes += c.length; hash.update(c); });
    req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
  });
  upstream.routes.set('/stream/source', (req, res) => {
    const total = Number(new URL(req.url!, 'http://x').searchParams.get('bytes'));
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    Readable.from(chunks(total)).pipe(res);
  });
  proxy = await startTestProxy(upstream.url);
});
t.teardown(async () => {
  await proxy.close();
  await upstream.stop();
});

function* chunks(total: number): Generator<Buffer> {
  const chunk = Buffer.alloc(64 * 1024, 7);
  for (let sent = 0; sent < total; sent += chunk.length) yield chunk.subarray(0, Math.min(chunk.length, total - sent));
}

t.test('server-sent events reach the client as the upstream flushes them', async (t) => {
  const res = await request(`${proxy.url}/stream/events`);
  t.equal(res.headers['content-type'], 'text/event-stream');
  const iterator = res.body[Symbol.asyncIterator]();
  const first = await iterator.next();
  t.equal(first.value.toString(), 'data: first\n\n', 'the first event arrives while the upstream still holds the second');
  releaseSecondEvent();
  const second = await iterator.next();
  t.equal(second.value.toString(), 'data: second\n\n');
  t.ok((await iterator.next()).done);
});

t.test('a large upload streams through intact', async (t) => {
  const total = 64 * 1024 * 1024;
  const expected = createHash('sha256');
  for (const c of chunks(total)) expected.update(c);
  const res = await request(`${proxy.url}/stream/sink`, {
    method: 'POST', body: Readable.from(chunks(total)), headers: { 'content-type': 'application/octet-stream' },
  });
  t.same(await res.body.json(), { bytes: total, sha256: expected.digest('hex') });
});

t.test('a large chunked download streams through intact', async (t) => {
  const total = 64 * 1024 * 1024;
  const res = await request(`${proxy.url}/stream/source?bytes=${total}`);
  t.notOk(res.headers['content-length'], 'chunked, as the upstream sent it');
  let bytes = 0;
  for await (const chunk of res.body) bytes += (chunk as Buffer).length;
  t.equal(bytes, total);
});
