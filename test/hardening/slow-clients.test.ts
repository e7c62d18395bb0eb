// Issue 10, findings 4 and 5: clients that send their head or body slowly cannot hold what other clients need,
// are cut off with a 408 (recorded for bodies, counted in /metrics for both), and heads time out by default.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load.js';
import { TestUpstream } from '../helpers/upstream.js';
import { recordsOf, startTestProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/eventually.js';

async function openSocket(port: number): Promise<Socket & { answer: () => string }> {
  const socket = connect(port, '127.0.0.1');
  let answer = '';
  socket.on('data', (c: Buffer) => { answer += c.toString('latin1'); });
  socket.on('error', () => {});
  await once(socket, 'connect');
  return Object.assign(socket, { answer: () => answer });
}

function closed(socket: Socket): Promise<unknown> {
  return socket.closed ? Promise.resolve() : once(socket, 'close');
}

async function metric(url: string, line: RegExp): Promise<number> {
  const res = await request(`${url}/metrics`);
  const match = line.exec(await res.body.text());
  return match ? Number(match[1]) : 0;
}

t.test('finding 5: a request head must complete in bounded time, 60 s by default', async (t) => {
  t.equal(parseConfig({ upstream: { url: 'http://127.0.0.1:9' } }).server.headersTimeoutMs, 60_000, 'the default');
  t.throws(() => parseConfig({ upstream: { url: 'http://127.0.0.1:9' }, server: { requestTimeoutMs: 1_000 } }),
    /headersTimeoutMs must not exceed requestTimeoutMs/, 'a head deadline beyond the whole-request deadline is a config error');
  const upstream = await new TestUpstream().start();
  const proxy = await startTestProxy(upstream.url, { server: { headersTimeoutMs: 300 } });
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  const idle = await Promise.all(Array.from({ length: 20 }, () => openSocket(proxy.port)));
  for (const socket of idle) socket.write('GET /never-finished HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  await Promise.all(idle.map(closed));
  t.ok(idle.every((s) => /^HTTP\/1\.1 408 [^]*server\.headersTimeoutMs/.test(s.answer())), 'every unfinished head got 408 and a close');
  t.equal(await metric(proxy.url, /audit_proxy_slow_clients_total\{phase="head"\} (\d+)/), 20, 'counted in /metrics');
  t.equal(upstream.seen.length, 0, 'nothing reached the upstream');
});

t.test('finding 4: slow uploads hold no upstream connection and are cut off with a recorded 408', async (t) => {
  const upstream = await new TestUpstream().start();
  const proxy = await startTestProxy(upstream.url, {
    upstream: { connections: 4 }, server: { bodyTimeoutMs: 500, minBodyBytesPerSecond: 50 },
  });
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  // Twelve small-body trickles (buffered: no upstream connection) and four large ones (streaming, own pool).
  const slow = await Promise.all(Array.from({ length: 16 }, () => openSocket(proxy.port)));
  slow.forEach((socket, i) => {
    socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-${i}\r\nContent-Length: 1000000000\r\n\r\n`);
    if (i >= 12) socket.write(Buffer.alloc(100_000, 1));
  });
  const drip = setInterval(() => { for (const socket of slow) if (!socket.destroyed) socket.write('x'); }, 150);
  t.teardown(() => clearInterval(drip));
  for (let i = 0; i < 8; i++) {
    const res = await request(`${proxy.url}/fast-${i}`, { headersTimeout: 3_000 });
    await res.body.dump();
    t.equal(res.statusCode, 200, `GET ${i} is answered while the slow uploads are open`);
  }
  await Promise.all(slow.map(closed));
  t.ok(slow.every((s) => /^HTTP\/1\.1 408 [^]*too slowly/.test(s.answer())), 'every slow upload got 408');
  const records = await eventually(async () => {
    const all = await recordsOf(proxy, 24);
    return all.filter((r) => r.requestId.startsWith('slow-')).length === 16 ? all : null;
  });
  const slowRecords = records!.filter((r) => r.requestId.startsWith('slow-'));
  t.ok(slowRecords.every((r) => r.statusCode === 408 && r.outcome === 'rejected'), 'each recorded as 408 rejected');
  t.equal(await metric(proxy.url, /audit_proxy_slow_clients_total\{phase="body"\} (\d+)/), 16, 'counted in /metrics');
  t.equal(upstream.seen.filter((s) => s.url === '/upload').length, 0, 'no slow upload was completed upstream');
});

t.test('a refused request whose body trickles in is not read at its pace: answered, then the connection is closed', async (t) => {
  const upstream = await new TestUpstream().start();
  const proxy = await startTestProxy(upstream.url, { server: { bodyTimeoutMs: 60_000 } });
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  // Found by review: a request refused on arrival (here two Host lines) was drained at any pace on a live connection.
  const socket = await openSocket(proxy.port);
  socket.write('POST /x HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 100000000\r\n\r\n');
  const trickle = setInterval(() => socket.writable && socket.write('x'), 100);
  t.teardown(() => clearInterval(trickle));
  const started = Date.now();
  await closed(socket);
  t.match(socket.answer(), /^HTTP\/1\.1 400 [^]*connection: close/i, 'answered 400, saying the connection closes');
  t.ok(Date.now() - started < 5_000, `closed after ${Date.now() - started} ms`);
  t.equal(upstream.seen.length, 0);
});
