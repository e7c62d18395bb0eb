import t from 'tap';
import { request } from 'undici';
import { TestUpstream } from '../helpers/upstream.js';
import { recordOf, recordsOf, startTestProxy, type TestProxy } from '../helpers/proxy.js';

let upstream: TestUpstream;
let proxy: TestProxy;

t.before(async () => {
  upstream = await new TestUpstream().start();
  upstream.routes.set('/stream/slow-body', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first');
    setTimeout(() => res.end('last'), 300);
  });
  upstream.routes.set('/v1/fail', (_req, res) => {
    res.writeHead(422, { 'content-type': 'application/json' });
    res.end('{"error":"invalid","token":"leaked-token-value"}');
  });
  upstream.routes.set('/v1/fail-form', (_req, res) => {
    res.writeHead(400, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
    res.end('error=invalid grant&access_token=leaked-form-token');
  });
  upstream.routes.set('/v1/fail-json', (_req, res) => {
    res.writeHead(409, { 'content-type': 'application/json; charset=utf-8' });
    res.end('{"error":"conflict","Token":"leaked-json-token"}');
  });
  proxy = await startTestProxy(upstream.url, {
    routes: { rules: [{ pattern: '/v1/orgs/:org/members/:id', resourceType: 'members', action: 'member.manage', methods: ['POST'] }] },
    capture: { responseBody: { enabled: true, maxBytes: 1024 } },
  });
});
t.teardown(async () => {
  await proxy.close();
  await upstream.stop();
});

t.test('a completed request becomes one record with every field', async (t) => {
  const res = await request(`${proxy.url}/v2/widgets/12345?color=red&color=blue&q=a%20b`, {
    method: 'POST', body: '{"name":"w"}',
    headers: { 'content-type': 'application/json', 'user-agent': 'record-test/1.0', 'x-request-id': 'rec-1' },
  });
  const responseText = await res.body.text();
  const record = await recordOf(proxy, 'rec-1');
  t.ok(record, 'recorded');
  t.match(record!.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/, 'UUIDv7 id');
  t.match(record!.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.equal(record!.method, 'POST');
  t.equal(record!.path, '/v2/widgets/12345');
  t.same(record!.query, { color: ['red', 'blue'], q: 'a b' });
  t.equal(record!.routePattern, '/v2/widgets/:id');
  t.equal(record!.resourceType, 'widgets');
  t.equal(record!.action, 'create');
  t.equal(record!.statusCode, 200);
  t.equal(record!.outcome, 'completed');
  t.equal(record!.requestBytes, 12);
  t.equal(record!.responseBytes, Buffer.byteLength(responseText));
  t.equal(record!.clientIp, '127.0.0.1');
  t.equal(record!.userAgent, 'record-test/1.0');
  t.equal(record!.principalType, 'anonymous');
  t.equal(record!.requestBody, '{"name":"w"}');
  t.equal(record!.requestBodyTruncated, false);
  t.equal(record!.upstream, upstream.url);
  t.ok(record!.ttfbMs! > 0 && record!.ttfbMs! <= record!.durationMs, 'ttfb within duration');
});

t.test('duration runs to the last byte of a streamed response; ttfb stops at the headers', async (t) => {
  const res = await request(`${proxy.url}/stream/slow-body`, { headers: { 'x-request-id': 'rec-slow' } });
  t.equal(await res.body.text(), 'firstlast');
  const record = (await recordOf(proxy, 'rec-slow'))!;
  t.ok(record.durationMs >= 280, `durationMs ${record.durationMs} covers the streaming`);
  t.ok(record.ttfbMs! < record.durationMs - 200, `ttfbMs ${record.ttfbMs} is the headers only`);
});

t.test('configured rules give routePattern, resourceType and action', async (t) => {
  const res = await request(`${proxy.url}/v1/orgs/acme/members/7`, { method: 'POST', headers: { 'x-request-id': 'rec-rule' } });
  await res.body.dump();
  const get = await request(`${proxy.url}/v1/orgs/acme/members/7`, { headers: { 'x-request-id': 'rec-rule-get' } });
  await get.body.dump();
  const post = (await recordOf(proxy, 'rec-rule'))!;
  t.same([post.routePattern, post.resourceType, post.action], ['/v1/orgs/:org/members/:id', 'members', 'member.manage']);
  const viaHeuristic = (await recordOf(proxy, 'rec-rule-get'))!;
  t.same([viaHeuristic.routePattern, viaHeuristic.action], ['/v1/orgs/acme/members/:id', 'read'], 'the rule is for POST only');
});

t.test('error responses keep their body when capture.responseBody is on, redacted', async (t) => {
  const res = await request(`${proxy.url}/v1/fail`, { headers: { 'x-request-id': 'rec-fail' } });
  await res.body.dump();
  const record = (await recordOf(proxy, 'rec-fail'))!;
  t.equal(record.statusCode, 422);
  t.equal(record.outcome, 'completed');
  t.equal(record.responseBody, '{"error":"invalid","token":"[REDACTED]"}');
});

t.test('issue 11: an error body is redacted by the Content-Type the upstream sent', async (t) => {
  for (const path of ['/v1/fail-form', '/v1/fail-json']) {
    const res = await request(`${proxy.url}${path}`, { headers: { 'x-request-id': `rec${path}` } });
    await res.body.dump();
  }
  const form = (await recordOf(proxy, 'rec/v1/fail-form'))!;
  t.equal(form.responseBody, 'error=invalid grant&access_token=[REDACTED]', 'a form body (not form-shaped by itself)');
  const json = (await recordOf(proxy, 'rec/v1/fail-json'))!;
  t.equal(json.responseBody, '{"error":"conflict","Token":"[REDACTED]"}', 'JSON with a charset');
});

t.test('failed and aborted requests are recorded with their outcome and time taken', async (t) => {
  const dead = await startTestProxy('http://127.0.0.1:1');
  t.teardown(() => dead.close());
  const res = await request(`${dead.url}/x`, { headers: { 'x-request-id': 'rec-502' } });
  await res.body.dump();
  const [failed] = await recordsOf(dead);
  t.same([failed!.statusCode, failed!.outcome], [502, 'upstream_error']);
  t.equal(failed!.ttfbMs, null, 'no upstream headers');
  t.ok(failed!.durationMs >= 0);

  upstream.routes.set('/stream/hang', () => {});
  const slow = await startTestProxy(upstream.url, { upstream: { url: upstream.url, timeoutMs: 200 } });
  t.teardown(() => slow.close());
  await (await request(`${slow.url}/stream/hang`)).body.dump();
  const [timedOut] = await recordsOf(slow);
  t.same([timedOut!.statusCode, timedOut!.outcome], [504, 'upstream_timeout']);
  t.ok(timedOut!.durationMs >= 190, 'the wait is in the duration');

  upstream.routes.set('/stream/drip', (_req, res) => {
    res.writeHead(200);
    const timer = setInterval(() => res.write('.'), 10);
    res.on('close', () => clearInterval(timer));
  });
  const controller = new AbortController();
  const dripping = await request(`${proxy.url}/stream/drip`, { signal: controller.signal, headers: { 'x-request-id': 'rec-abort' } });
  for await (const _ of dripping.body) break;
  controller.abort();
  const aborted = await (async () => {
    for (;;) {
      const found = await recordOf(proxy, 'rec-abort');
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  t.same([aborted.statusCode, aborted.outcome], [200, 'client_aborted']);
  t.ok(aborted.responseBytes > 0, 'bytes sent before the abort are counted');
});
