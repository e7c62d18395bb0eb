// Issue 7, item 3: hostile query strings and bodies are the upstream's business (forwarded byte for byte) and are
// recorded safely; forged JWTs get 401 under auth.enforce and never reach the upstream; the proxy's own endpoints
// shrug off hostile input.
import t from 'tap';
import { exportJWK, generateKeyPair, SignJWT, exportSPKI } from 'jose';
import { request } from 'undici';
import { TestUpstream } from '../helpers/upstream.js';
import { recordOf, recordsOf, startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw.js';

const HS_SECRET = 'hostile-input-shared-secret-of-32-bytes!';
let upstream: TestUpstream;
let proxy: TestProxy;

t.before(async () => {
  upstream = await new TestUpstream().start();
  proxy = await startTestProxy(upstream.url);
});
t.teardown(async () => {
  await proxy.close();
  await upstream.stop();
});

async function send(path: string, init: Parameters<typeof request>[1] = {}): Promise<number> {
  const res = await request(`${proxy.url}${path}`, init);
  await res.body.dump();
  return res.statusCode;
}

t.test('hostile query strings are forwarded untouched and recorded without pollution', async (t) => {
  const queries = [
    '__proto__[polluted]=yes&constructor[prototype][polluted]=yes&__proto__=x',
    'a=1&a=2&a=3&A=4', '$where=this.a%3D%3D1&q=%27%20OR%20%271%27%3D%271&x=%22%3E%3Cscript%3E',
    'bad=%FF%FE%C0%AF&half=%E2%82&broken=%zz&%=%', `huge=${'h'.repeat(12_000)}`,
    Array.from({ length: 1_000 }, (_, i) => `p${i}=${i}`).join('&'),
  ];
  for (const [i, query] of queries.entries()) {
    const path = `/q/${i}?${query}`;
    t.equal(await send(path, { headers: { 'x-request-id': `q-${i}` } }), 200, `query ${i} answered`);
    t.equal(upstream.seen.at(-1)!.url, path, `query ${i} forwarded byte for byte`);
  }
  const records = await recordsOf(proxy, queries.length);
  const byId = (id: string) => records.find((r) => r.requestId === id)!;
  // The store's msgpack decoder renames an own key __proto__ to __proto_ (its guard against pollution).
  t.same(Object.keys(byId('q-0').query).sort(), ['__proto_', '__proto__[polluted]', 'constructor[prototype][polluted]'].sort(), 'odd names are plain keys');
  t.equal(byId('q-0').query.__proto_, 'x');
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  t.same(byId('q-1').query, { a: ['1', '2', '3'], A: '4' }, 'repeated parameters become an array');
  t.equal(byId('q-3').query.bad, '\ufffd\ufffd\ufffd\ufffd', 'bytes that are not UTF-8 decode to replacement characters');
  t.equal(byId('q-4').query.huge, 'h'.repeat(12_000));
  t.equal(Object.keys(byId('q-5').query).length, 1_000);
});

t.test('hostile JSON bodies are forwarded untouched; the record is redacted and parseable', async (t) => {
  const body = '{"__proto__":{"polluted":true,"password":"p1"},"constructor":{"prototype":{"polluted":true}},'
    + '"$where":"sleep(1000)","q":"\\"; DROP TABLE x;--","Password":"p2","n":1e400,"deep":' + '['.repeat(500) + ']'.repeat(500) + '}';
  t.equal(await send('/json', { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-request-id': 'json-hostile' } }), 200);
  t.equal(upstream.seen.at(-1)!.body, body, 'forwarded byte for byte');
  const record = (await recordOf(proxy, 'json-hostile'))!;
  const stored = JSON.parse(record.requestBody!);
  t.equal(Object.getOwnPropertyDescriptor(stored, '__proto__')?.value?.password, '[REDACTED]', 'redacted inside __proto__ too');
  t.equal(stored.Password, '[REDACTED]');
  t.equal(stored.$where, 'sleep(1000)', 'the rest is kept as data');
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  const broken = '{"password": "p3", "a": [1, 2, {"secret": ["s1", "s2"';
  t.equal(await send('/broken', { method: 'POST', body: broken, headers: { 'content-type': 'application/json', 'x-request-id': 'json-broken' } }), 200);
  const brokenRecord = (await recordOf(proxy, 'json-broken'))!;
  t.notMatch(brokenRecord.requestBody!, /p3|s1|s2/, 'invalid JSON is redacted too');
});

t.test('hostile paths and methods are the upstream\'s business; own endpoints shrug them off', async (t) => {
  for (const path of ['//double//slash', '/%00nul', '/a%20b/%E2%80%AE']) {
    t.equal(await send(path), 200, `${path} forwarded`);
    t.equal(upstream.seen.at(-1)!.url, path, `${path} untouched`);
  }
  const seen = upstream.seen.length;
  t.equal(await send('/..%2f..%2fetc/passwd'), 400, 'an ambiguous path (encoded slash, dot segments) is refused');
  t.equal(upstream.seen.length, seen, 'and never reaches the upstream');
  const odd = await rawRequest(proxy.port, 'PROPFIND /dav HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.match(odd, /"method":"PROPFIND"/, 'an unusual method is forwarded');
  for (const own of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
    t.ok([200, 503].includes(await send(`${own}?__proto__[x]=1&${'z'.repeat(8_000)}=%FF`)), `${own} with a hostile query`);
    t.equal(await send(own, { method: 'POST', body: '{"__proto__":{}}' }), 405, `${own} refuses POST`);
  }
  t.equal(await send('/healthz'), 200, 'the proxy lives on');
});

t.test('forged JWTs get 401 under auth.enforce and never reach the upstream', async (t) => {
  const rsa = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256' };
  const jwks = await new TestUpstream().start();
  jwks.routes.set('/jwks', (_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
  const strict = await startTestProxy(upstream.url, { auth: { enforce: true, jwt: { secret: HS_SECRET, jwksUrl: `${jwks.url}/jwks`, jwksCooldownMs: 0 } } });
  t.teardown(async () => {
    await strict.close();
    await jwks.stop();
  });
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const claims = { sub: 'admin', org_id: 'org-victim', scope: 'audit:read:all' };
  const rs = (kid: string) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).setExpirationTime('5m').sign(rsa.privateKey);
  const pem = await exportSPKI(rsa.publicKey);
  const forged: Record<string, string | Promise<string>> = {
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
    'wrong HS key': new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('not-the-secret-not-the-secret-00')),
    expired: new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(Date.now() / 1000) - 3600).sign(new TextEncoder().encode(HS_SECRET)),
    'crafted kid (path)': rs('../../../../etc/passwd'),
    'crafted kid (injection)': rs("k1' OR '1'='1"),
    'HS256 signed with the RS public key': new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(new TextEncoder().encode(pem)),
    'RS token re-signed body': rs('k1').then((tok) => `${tok.split('.')[0]}.${b64({ ...claims, org_id: 'org-other' })}.${tok.split('.')[2]}`),
  };
  for (const [name, token] of Object.entries(forged)) {
    const res = await request(`${strict.url}/jwt/${encodeURIComponent(name)}`, { headers: { authorization: `Bearer ${await token}` } });
    const body = await res.body.json() as { code: number; message: string };
    t.equal(res.statusCode, 401, `${name}: 401`);
    t.match(res.headers['www-authenticate'], /error="invalid_token"/, `${name}: says invalid_token`);
    t.equal(body.code, 401);
  }
  t.notOk(upstream.seen.some((s) => s.url.startsWith('/jwt/')), 'no forged token reached the upstream');
  const genuine = await request(`${strict.url}/jwt-genuine`, { headers: { authorization: `Bearer ${await rs('k1')}` } });
  await genuine.body.dump();
  t.equal(genuine.statusCode, 200, 'a genuine RS256 token still works (the cases above fail for their forgery)');
  const records = (await recordsOf(strict, 8)).filter((r) => r.path.startsWith('/jwt/'));
  t.ok(records.length === 7 && records.every((r) => r.organizationId === null && r.authError !== null), 'recorded for nobody, with why');
});

t.test('a value too long for an index key is recorded and found, and recording goes on for everyone', async (t) => {
  const signed = await startTestProxy(upstream.url, { auth: { jwt: { secret: HS_SECRET } } });
  t.teardown(() => signed.close());
  const longOrg = `org-${'o'.repeat(2_000)}`; // each over LMDB's 1,978-byte keys; all within 16 KiB of headers
  const longUser = `user-${'ü'.repeat(600)}`;
  const token = await new SignJWT({ sub: longUser, org_id: longOrg }).setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m').sign(new TextEncoder().encode(HS_SECRET));
  const longPath = `/long/${'p'.repeat(5_000)}`;
  const sent = async (path: string, headers: Record<string, string>) => {
    const res = await request(`${signed.url}${path}`, { headers });
    await res.body.dump();
    return res.statusCode;
  };
  t.equal(await sent(longPath, { authorization: `Bearer ${token}`, 'x-request-id': 'long-values' }), 200, 'the long request is served');
  t.equal(await sent('/after', { 'x-request-id': 'after-long' }), 200);
  const store = signed.services.store!;
  t.ok(await recordOf(signed, 'after-long'), 'a request after it is recorded (its batch did not fail)');
  const [byOrg] = (await store.query({ organizationId: longOrg }, { limit: 5, withTotal: true })).items;
  t.equal(byOrg?.path, longPath, 'found by its organization, the path kept whole');
  t.equal(byOrg?.userId, longUser);
  t.equal((await store.query({ organizationId: longOrg, requestId: 'long-values' }, { limit: 5, withTotal: true })).total, 1, 'by its request id');
  t.equal((await store.query({ organizationId: longOrg, userId: longUser }, { limit: 5, withTotal: true })).total, 1, 'by its user');
  t.equal((await store.query({ organizationId: longOrg, path: longPath }, { limit: 5, withTotal: true })).total, 1, 'by its path (the count rollup)');
  t.equal((await store.query({ organizationId: longOrg, path: `${longPath}x` }, { limit: 5, withTotal: true })).total, 0, 'not by another long path');
  const ready = await request(`${signed.url}/readyz`);
  await ready.body.dump();
  t.equal(ready.statusCode, 200, 'the store stays ready');
});
