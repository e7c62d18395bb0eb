// Issue 7, item 3: hostile headers. Malformed or oversized ones get a clear 4xx from the proxy and never reach the
// upstream; spoofed forwarding and identity headers from an untrusted peer are not believed (and are forwarded,
// being the upstream's business); duplicated credential headers are refused; the process lives on.
import t, { type Test } from 'tap';
import { request } from 'undici';
import { TestUpstream } from '../helpers/upstream.js';
import { recordOf, recordsOf, startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { eventually } from '../helpers/eventually.js';
import { rawRequest } from '../helpers/raw.js';
import { sha256 } from '../../src/principal/digest.js';

const KEY = 'hk_live_hostile_headers_key_0001';
let upstream: TestUpstream;
let proxy: TestProxy;

t.before(async () => {
  upstream = await new TestUpstream().start();
  proxy = await startTestProxy(upstream.url, {
    auth: { apiKeyHeaders: ['x-tenant-key'], keys: [{ id: 'key-a', sha256: sha256(KEY).toString('hex'), organizationId: 'org-a' }] },
  });
});
t.teardown(async () => {
  await proxy.close();
  await upstream.stop();
});

/** The proxy still answers, and no path starting /`marker` reached the upstream. */
async function stillAliveAndUnforwarded(t: Test, marker: string): Promise<void> {
  const res = await request(`${proxy.url}/alive`);
  await res.body.dump();
  t.equal(res.statusCode, 200, 'the proxy lives on');
  t.notOk(upstream.seen.some((s) => s.url.startsWith(`/${marker}`)), 'nothing reached the upstream');
}

const head = (marker: string, lines: string) => `GET /${marker} HTTP/1.1\r\nHost: x\r\n${lines}Connection: close\r\n\r\n`;
const MALFORMED: Record<string, string> = {
  'control character in a value': head('m-ctl', 'X-Request-Id: a\x01b\r\n'),
  'NUL in a value': head('m-nul', 'X-Thing: a\x00b\r\n'),
  'DEL in a value': head('m-del', 'X-Thing: a\x7fb\r\n'),
  'a line without a colon': head('m-colon', 'Broken header line\r\n'),
  'a space in a name': head('m-space', 'X Thing: b\r\n'),
  'obsolete line folding': head('m-fold', 'X-Thing: a\r\n folded\r\n'),
  'two different Content-Lengths (smuggling)': 'POST /m-clcl HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
  'Content-Length with Transfer-Encoding (smuggling)': 'POST /m-clte HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'chunked not last in Transfer-Encoding': 'POST /m-te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n',
  'bare LF line endings': 'GET /m-lf HTTP/1.1\nHost: x\n\n',
  'a non-ASCII byte in the target': 'GET /m-bytes\xff HTTP/1.1\r\nHost: x\r\n\r\n',
};

t.test('malformed heads get 400 JSON and are never forwarded', async (t) => {
  for (const [name, bytes] of Object.entries(MALFORMED)) {
    const answer = await rawRequest(proxy.port, Buffer.from(bytes, 'latin1'));
    t.match(answer, /^HTTP\/1\.1 400 /, `${name}: 400`);
    t.match(answer, /"code":400,"data":null,"message":"malformed request: HPE_/, `${name}: JSON naming the parser error`);
  }
  await stillAliveAndUnforwarded(t, 'm-');
});

t.test('oversized heads get 431; a large head under the limit is forwarded whole', async (t) => {
  const big = await rawRequest(proxy.port, head('o-big', `X-Big: ${'a'.repeat(20_000)}\r\n`));
  t.match(big, /^HTTP\/1\.1 431 .*"message":"request headers too large"/s);
  const many = Array.from({ length: 1_000 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}\r\n`).join('');
  t.match(await rawRequest(proxy.port, head('o-many', many)), /^HTTP\/1\.1 431 /, 'many small headers add up');
  t.match(await rawRequest(proxy.port, `GET /o-url?q=${'z'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), /^HTTP\/1\.1 431 /, 'so does a huge target');
  await stillAliveAndUnforwarded(t, 'o-');
  const res = await request(`${proxy.url}/o-ok`, { headers: { 'x-large': 'L'.repeat(12_000) } });
  await res.body.dump();
  t.equal(res.statusCode, 200);
  t.equal(upstream.seen.at(-1)!.headers['x-large'], 'L'.repeat(12_000), 'forwarded untouched');
});

t.test('duplicated credential headers are refused with 400, not resolved one way and forwarded another', async (t) => {
  const cases: Record<string, string> = {
    'two Authorization headers': `Authorization: Bearer ${KEY}\r\nAuthorization: Bearer someone-elses-key-000000\r\n`,
    'two X-Api-Key headers': `X-Api-Key: ${KEY}\r\nx-api-key: other-key-0000000000000\r\n`,
    'two x-portkey-api-key headers': `x-portkey-api-key: ${KEY}\r\nx-portkey-api-key: other-key-0000000000000\r\n`,
    'two configured API-key headers': `X-Tenant-Key: ${KEY}\r\nX-Tenant-Key: other-key-0000000000000\r\n`,
    'an Authorization header in two spellings': `authorization: Bearer ${KEY}\r\nAUTHORIZATION: Basic YTpi\r\n`,
  };
  for (const [name, lines] of Object.entries(cases)) {
    const answer = await rawRequest(proxy.port, head(`d-${name.replace(/\W+/g, '-')}`, lines));
    t.match(answer, /^HTTP\/1\.1 400 /, `${name}: 400`);
    t.match(answer, /"message":"[^"]*(repeated|duplicated)[^"]*"/i, `${name}: the message says why`);
    t.notMatch(answer, new RegExp(KEY), `${name}: the answer does not echo the credential`);
  }
  await stillAliveAndUnforwarded(t, 'd-');
  // A record is committed after its answer: wait for as many as were refused (recordsOf returns at the first).
  const refusedNow = async () => (await recordsOf(proxy)).filter((r) => r.path.startsWith('/d-'));
  const refused = await eventually(async () => {
    const found = await refusedNow();
    if (found.length < Object.keys(cases).length) throw new Error(`${found.length} refusals recorded so far`);
    return found;
  }).catch(refusedNow);
  t.equal(refused.length, Object.keys(cases).length, 'each refusal is recorded');
  t.ok(refused.every((r) => r.outcome === 'rejected' && r.statusCode === 400 && r.organizationId === null), 'as rejected, for nobody');
});

t.test('X-Request-Id: a sane one is kept; control characters, 600 characters or non-ASCII get a fresh id', async (t) => {
  const sane = await request(`${proxy.url}/rid-sane`, { headers: { 'x-request-id': 'abc-123_XYZ.~' } });
  await sane.body.dump();
  t.equal(sane.headers['x-request-id'], 'abc-123_XYZ.~');
  const insane = {
    'rid-tab': 'a\tb', 'rid-long': 'r'.repeat(600), 'rid-129': 'r'.repeat(129), 'rid-space': 'a b',
  } as Record<string, string>;
  for (const [path, id] of Object.entries(insane)) {
    const res = await request(`${proxy.url}/${path}`, { headers: { 'x-request-id': id } });
    await res.body.dump();
    const given = res.headers['x-request-id'] as string;
    t.not(given, id, `${path}: not echoed`);
    t.match(given, /^[0-9a-f-]{36}$/, `${path}: a fresh UUID`);
    t.equal(upstream.seen.at(-1)!.headers['x-request-id'], given, `${path}: the upstream gets the fresh one`);
  }
  const latin1 = await rawRequest(proxy.port, Buffer.from(`${head('rid-latin1', 'X-Request-Id: caf\xe9\r\n')}`, 'latin1'));
  t.match(latin1, /^HTTP\/1\.1 200 /);
  t.notMatch(latin1, /x-request-id: caf/i, 'a non-ASCII id is replaced');
  const control = await rawRequest(proxy.port, head('rid-ctl', 'X-Request-Id: a\x1bb\r\n'));
  t.match(control, /^HTTP\/1\.1 400 /, 'an escape character is refused by the parser');
  const quoted = await request(`${proxy.url}/rid-quote`, { method: 'DELETE', headers: { 'x-request-id': '"><script>' } });
  await quoted.body.dump();
  t.equal(quoted.headers['x-request-id'], '"><script>', 'printable ASCII is kept as sent (a header cannot carry CR or LF)');
});

t.test('X-Forwarded-* from an untrusted peer: not believed, chain extended, proto and host replaced', async (t) => {
  const res = await request(`${proxy.url}/xff`, {
    headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.test', 'x-request-id': 'xff-spoof' },
  });
  await res.body.dump();
  const seen = upstream.seen.at(-1)!.headers;
  t.equal(seen['x-forwarded-for'], '203.0.113.9, 10.0.0.1, 127.0.0.1', 'the real peer is appended');
  t.equal(seen['x-forwarded-proto'], 'http', 'the claimed scheme is replaced');
  t.not(seen['x-forwarded-host'], 'evil.test', 'the claimed host is replaced');
  const record = await recordOf(proxy, 'xff-spoof');
  t.equal(record!.clientIp, '127.0.0.1', 'the record names the socket peer');
  const context = { forwarded: 'for=198.51.100.7;host=admin.internal;proto=https', 'x-real-ip': '198.51.100.7', 'x-forwarded-port': '443',
    'x-forwarded-prefix': '/admin', 'x-original-url': '/v1/admin/users', 'x-rewrite-url': '/v1/admin/users' };
  const claimed = await request(`${proxy.url}/context`, { headers: { ...context, 'x-request-id': 'context-spoof' } });
  await claimed.body.dump();
  const arrived = upstream.seen.find((s) => s.headers['x-request-id'] === 'context-spoof')!.headers;
  for (const name of Object.keys(context)) t.equal(arrived[name], undefined, `${name} from an untrusted peer is not forwarded`);
  const behind = await startTestProxy(upstream.url, { trustProxy: ['127.0.0.1'] });
  t.teardown(() => behind.close());
  const relayed = await request(`${behind.url}/context`, { headers: { ...context, 'x-request-id': 'context-trusted' } });
  await relayed.body.dump();
  t.equal(upstream.seen.find((s) => s.headers['x-request-id'] === 'context-trusted')!.headers.forwarded, context.forwarded, 'a trusted peer\'s are');
  const garbage = await request(`${proxy.url}/xff2`, { headers: { 'x-forwarded-for': `${'9'.repeat(5_000)}, <script>, ::ffff:1.2.3.4` } });
  await garbage.body.dump();
  t.equal(garbage.statusCode, 200, 'a garbage chain is only forwarded');
});

t.test('identity headers from an untrusted peer name nobody; with auth.enforce they get 401', async (t) => {
  const spoof = { 'x-auth-request-user': 'admin', 'x-auth-request-org': 'org-a', 'x-forwarded-email': 'root@example.com' };
  const res = await request(`${proxy.url}/identity`, { headers: { ...spoof, 'x-request-id': 'identity-spoof' } });
  await res.body.dump();
  const record = await recordOf(proxy, 'identity-spoof');
  t.match(record, { principalType: 'anonymous', userId: null, organizationId: null }, 'not believed');
  const strict = await startTestProxy(upstream.url, { auth: { enforce: true } });
  t.teardown(() => strict.close());
  const refused = await request(`${strict.url}/identity-strict`, { headers: spoof });
  t.equal(refused.statusCode, 401);
  t.match(await refused.body.json(), { code: 401, message: /authentication required/ });
  t.notOk(upstream.seen.some((s) => s.url === '/identity-strict'), 'never forwarded');
});
