// Issue 10, finding 7: an unauthenticated client sending big bodies and headers cannot fill the store and so make
// later requests 503: retention evicts the oldest records first, and each record keeps capture.maxHeaderBytes at most.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { request } from 'undici';
import { TestUpstream } from '../helpers/upstream.js';
import { startTestProxy } from '../helpers/proxy.js';
import { OMITTED_HEADERS_KEY } from '../../src/pipeline/record.js';

/** 16 KiB, random and unique: equal bodies are stored once and compressed, and an attacker would not send those. */
const body = () => JSON.stringify({ data: randomBytes(12_288).toString('base64') });
/** 12 KiB of headers in twelve of 1 KiB. */
const BIG_HEADERS = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`x-filler-${i}`, 'h'.repeat(1_000)]));

t.test('big unauthenticated requests evict the oldest records instead of filling the store', async (t) => {
  const upstream = await new TestUpstream().start();
  // 2 MiB holds about a hundred such records; 400 are sent.
  const proxy = await startTestProxy(upstream.url, { store: { mapSizeMb: 2, batchMax: 16 } });
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  const statuses: number[] = [];
  for (let round = 0; round < 40; round++) {
    const answers = await Promise.all(Array.from({ length: 10 }, async (_, i) => {
      const res = await request(`${proxy.url}/v1/upload`, {
        method: 'POST', body: body(), headers: { 'content-type': 'application/json', 'x-request-id': `flood-${round}-${i}`, ...BIG_HEADERS },
      });
      await res.body.dump();
      return res.statusCode;
    }));
    statuses.push(...answers);
  }
  t.same(statuses.filter((status) => status !== 200), [], 'every flooding request was answered by the upstream');
  await proxy.services.store!.flush();
  const later = await request(`${proxy.url}/v1/later`);
  await later.body.dump();
  t.equal(later.statusCode, 200, 'a later request is not refused');
  const ready = await request(`${proxy.url}/readyz`);
  t.equal(ready.statusCode, 200, await ready.body.text());

  const metrics = await (await request(`${proxy.url}/metrics`)).body.text();
  const evicted = Number(/^audit_proxy_store_evicted_total (\d+)/m.exec(metrics)?.[1]);
  t.ok(evicted > 0, `evictions are counted in /metrics (${evicted})`);
  t.ok(proxy.logs.some((line) => line.includes('audit store evicted its oldest records')), 'and logged');
  t.equal(proxy.services.store!.health().dropped, 0, 'no record was dropped');

  const newest = (await proxy.services.store!.query({ requestId: 'flood-39-9' }, { limit: 1 })).items[0]!;
  const kept = Object.entries(newest.requestHeaders).filter(([name]) => name !== OMITTED_HEADERS_KEY);
  t.ok(kept.reduce((sum, [name, value]) => sum + name.length + value.length, 0) <= 4_096, 'headers kept are within capture.maxHeaderBytes');
  t.match(newest.requestHeaders[OMITTED_HEADERS_KEY], /^\d+ headers, \d+ bytes over capture.maxHeaderBytes$/, 'and the record says what was left out');
  t.equal(newest.requestHeaders['content-type'], 'application/json', 'headers before the cap are kept');
  const oldest = await proxy.services.store!.query({ requestId: 'flood-0-0' }, { limit: 1 });
  t.equal(oldest.items.length, 0, 'the oldest record was evicted');
});
