// Issue 7, item 2: the store's disk full (store.mapSizeMb: 1) as a client of the proxy sees it, in both modes.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { request } from 'undici';
import { TestUpstream } from '../helpers/upstream.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/eventually.js';

/**
 * ~100 KB captured per record, so a 1 MiB store is full after about ten (size eviction off: a store that cannot make
 * room): random and unique, as bodies stored apart are deduplicated and compressed.
 */
const bigBody = () => randomBytes(75_000).toString('base64');
const SMALL_STORE = { mapSizeMb: 1, batchMax: 4, retryMs: 50 };
const BIG_CAPTURE = { requestBody: { enabled: true, maxBytes: 200_000 } };

async function sendBig(proxy: TestProxy, id: string): Promise<{ status: number; body: string; requestId: unknown }> {
  const res = await request(`${proxy.url}/upload`, {
    method: 'POST', body: bigBody(), headers: { 'content-type': 'text/plain', 'x-request-id': id },
  });
  return { status: res.statusCode, body: await res.body.text(), requestId: res.headers['x-request-id'] };
}

async function get(proxy: TestProxy, path: string): Promise<{ status: number; text: string }> {
  const res = await request(`${proxy.url}${path}`);
  return { status: res.statusCode, text: await res.body.text() };
}

t.test('closed: a full store answers 503 JSON without forwarding, then recovers and loses no admitted record', async (t) => {
  const upstream = await new TestUpstream().start();
  const proxy = await startTestProxy(upstream.url, {
    store: { ...SMALL_STORE, onFailure: 'closed', retention: { maxAgeDays: 0, maxRecords: 2, intervalMs: 1_000, evictAbovePercent: 0 } },
    capture: BIG_CAPTURE,
  });
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  let admitted = 0;
  let refused: { status: number; body: string; requestId: unknown; id: string } | null = null;
  for (let i = 0; i < 300 && !refused; i++) {
    const answer = await sendBig(proxy, `full-${i}`);
    if (answer.status === 503) refused = { ...answer, id: `full-${i}` };
    else if (answer.status === 200) admitted++;
    else t.fail(`unexpected status ${answer.status}`);
  }
  t.ok(refused, 'the store filled up and the proxy refused');
  t.same(JSON.parse(refused!.body), {
    code: 503, data: null, message: 'the audit store cannot record requests right now', requestId: refused!.id,
  }, 'the 503 is the JSON error envelope with the request id');
  t.equal(refused!.requestId, refused!.id, 'and the X-Request-Id header');
  t.notOk(upstream.seen.some((s) => s.headers['x-request-id'] === refused!.id), 'the refused request never reached the upstream');
  const ready = await get(proxy, '/readyz');
  if (ready.status === 503) t.match(ready.text, /MDB_MAP_FULL|queue full/, '/readyz says why');

  // Retention prunes to two records; the failed batch is retried and goes through; traffic is admitted again.
  const after = await eventually(async () => {
    const res = await get(proxy, '/after-recovery');
    return res.status === 200 ? res : null;
  }, 15_000);
  t.equal(after!.status, 200, 'requests are admitted again once the store has room');
  // flush() rejects while a retried batch fails again; retention keeps making room until all are in.
  await eventually(() => proxy.services.store!.flush().then(() => true), 15_000);
  const health = proxy.services.store!.health();
  t.equal(health.dropped, 0, 'closed mode dropped nothing');
  t.equal(health.written, admitted + 1, 'every admitted request was written (before pruning took it)');
  t.ok(proxy.logs.some((l) => l.includes('audit store write failed; retrying')), 'the failure was logged');
  t.ok(proxy.logs.some((l) => l.includes('audit store writes recovered')), 'and the recovery');
});

t.test('open: a full store lets traffic through; dropped records are counted in /metrics and logged', async (t) => {
  const upstream = await new TestUpstream().start();
  const proxy = await startTestProxy(upstream.url, {
    store: { ...SMALL_STORE, onFailure: 'open', retention: { maxAgeDays: 0, evictAbovePercent: 0 } },
    capture: BIG_CAPTURE,
  });
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  const SENT = 40;
  for (let i = 0; i < SENT; i++) {
    const answer = await sendBig(proxy, `open-${i}`);
    t.equal(answer.status, 200, `request ${i} went through`);
  }
  t.equal(upstream.seen.length, SENT, 'the upstream got every request');
  await proxy.services.store!.flush();
  const health = proxy.services.store!.health();
  t.ok(health.dropped > 0, `records were dropped (${health.dropped})`);
  t.equal(health.written + health.dropped, SENT, 'each request was either written or counted as dropped');

  const metrics = await get(proxy, '/metrics');
  const dropped = /^audit_proxy_store_dropped_total (\d+)$/m.exec(metrics.text);
  t.equal(Number(dropped?.[1]), health.dropped, '/metrics reports the dropped count');
  t.match(metrics.text, /^audit_proxy_store_healthy 1$/m, 'open mode keeps accepting');
  const logged = await eventually(() => proxy.logs.find((l) => l.includes('"msg":"audit records dropped"')));
  t.match(JSON.parse(logged!), { level: 50, reason: /MDB_MAP_FULL/ }, 'the drop is logged at error level with the reason');
});
