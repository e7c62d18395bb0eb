import t from 'tap';
import { request } from 'undici';
import { TestUpstream } from '../helpers/upstream.js';
import { startTestProxy } from '../helpers/proxy.js';

t.test('healthz, readyz and metrics are answered by the proxy and never forwarded or recorded', async (t) => {
  const upstream = await new TestUpstream().start();
  const proxy = await startTestProxy(upstream.url);
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  const health = await request(`${proxy.url}/healthz`);
  t.same(await health.body.json(), { status: 'ok' });
  const ready = await request(`${proxy.url}/readyz`);
  t.equal(ready.statusCode, 200);
  t.same(await ready.body.json(), { status: 'ready', problems: [] });
  await (await request(`${proxy.url}/counted`)).body.dump();
  const metrics = await request(`${proxy.url}/metrics`);
  t.match(metrics.headers['content-type'], /text\/plain/);
  const text = await metrics.body.text();
  t.match(text, /audit_proxy_requests_total\{outcome="completed",status_class="2xx"\} [1-9]/);
  t.match(text, /audit_proxy_store_queue_depth \d+/);
  t.match(text, /audit_proxy_store_healthy 1/);
  const post = await request(`${proxy.url}/healthz`, { method: 'POST' });
  t.equal(post.statusCode, 405);
  t.equal(post.headers.allow, 'GET, HEAD');
  t.equal(upstream.seen.filter((s) => /healthz|readyz|metrics/.test(s.url)).length, 0, 'none forwarded');
  await proxy.services.store!.flush();
  const paths = (await proxy.services.store!.query({}, { limit: 100 })).items.map((r) => r.path);
  t.same(paths, ['/counted'], 'only the proxied request is recorded');
});

t.test('readyz is 503 naming the problem when the upstream is unreachable', async (t) => {
  const proxy = await startTestProxy('http://127.0.0.1:1');
  t.teardown(() => proxy.close());
  const ready = await request(`${proxy.url}/readyz`);
  t.equal(ready.statusCode, 503);
  const body = await ready.body.json() as { status: string; problems: string[] };
  t.equal(body.status, 'unavailable');
  t.match(body.problems[0], /upstream unreachable: ECONNREFUSED/);
});

t.test('every path the proxy answers is configurable, and the defaults are then forwarded', async (t) => {
  const upstream = await new TestUpstream().start();
  const proxy = await startTestProxy(upstream.url, { paths: { healthz: '/_proxy/health', readyz: '/_proxy/ready', metrics: '/_proxy/metrics' } });
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  t.same(await (await request(`${proxy.url}/_proxy/health`)).body.json(), { status: 'ok' });
  t.equal((await request(`${proxy.url}/_proxy/ready`)).statusCode, 200);
  t.match(await (await request(`${proxy.url}/_proxy/metrics`)).body.text(), /audit_proxy_requests_total/);
  const forwarded = await request(`${proxy.url}/healthz`);
  t.equal(((await forwarded.body.json()) as { url: string }).url, '/healthz', 'the upstream\'s own /healthz is reachable');
});
