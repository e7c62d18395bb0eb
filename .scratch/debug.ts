// @ts-nocheck
import { connect } from 'node:net';
import { once } from 'node:events';
import { request } from 'undici';
const { TestUpstream } = await import('../test/helpers/upstream.js');
const { startTestProxy, recordsOf } = await import('../test/helpers/proxy.js');
const upstream = await new TestUpstream().start();
const proxy = await startTestProxy(upstream.url, { upstream: { connections: 4 }, server: { bodyTimeoutMs: 500, minBodyBytesPerSecond: 50 } });
const slow = [];
for (let i = 0; i < 16; i++) {
  const s = connect(proxy.port, '127.0.0.1'); await once(s, 'connect'); s.ans = ''; s.on('data', c => s.ans += c); s.on('error', () => {});
  s.on('close', () => console.log('closed', i, Date.now() % 100000));
  s.write(`POST /upload HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-${i}\r\nContent-Length: 1000000000\r\n\r\n`);
  if (i >= 12) s.write(Buffer.alloc(100000, 1));
  slow.push(s);
}
const drip = setInterval(() => { for (const s of slow) if (!s.destroyed) s.write('x'); }, 150);
for (let i = 0; i < 3; i++) { const r = await request(`${proxy.url}/fast-${i}`, { headersTimeout: 3000 }); await r.body.dump(); console.log('get', r.statusCode); }
await new Promise(r => setTimeout(r, 5000));
for (const [i, s] of slow.entries()) console.log(i, s.destroyed, JSON.stringify(s.ans.slice(0, 60)));
clearInterval(drip);
console.log((await recordsOf(proxy, 19)).map(r => `${r.requestId} ${r.statusCode} ${r.outcome}`).join('\n'));
await proxy.close(); await upstream.stop();
console.log('done');
