// Issue 10, findings 2, 3, 6 and 11: what reaches the upstream is what is recorded. Each case below was reproduced
// against main (recorded as one caller and served as another, forwarded without a record, wrong status recorded).
import t from 'tap';
import { once } from 'node:events';
import { connect } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { request } from 'undici';
import { TestUpstream } from '../helpers/upstream.js';
import { recordsOf, startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw.js';
import { eventually } from '../helpers/eventually.js';
import { sha256 } from '../../src/principal/digest.js';
import type { AuditRecord } from '../../src/audit/record.js';

const KEY_A = 'tk_live_trust_key_a_0000000001';
const KEY_B = 'tk_live_trust_key_b_0000000002';
const keys = [
  { id: 'key-a', sha256: sha256(KEY_A).toString('hex'), organizationId: 'org-a', scopes: ['audit:read'] },
  { id: 'key-b', sha256: sha256(KEY_B).toString('hex'), organizationId: 'org-b' },
];
let upstream: TestUpstream;
let proxy: TestProxy;
let seq = 0;

t.before(async () => {
  upstream = await new TestUpstream().start();
  upstream.routes.set('/two-types', (_req, res) => {
    res.writeHead(500, [['Content-Type', 'text/plain'], ['Content-Type', 'application/json']]);
    res.end('{"error":"boom"}');
  });
  proxy = await startTestProxy(upstream.url, {
    auth: { keys }, capture: { exclude: ['/v1/ping/*'], responseBody: { enabled: true } },
  });
});
t.teardown(async () => {
  await proxy.close();
  await upstream.stop();
});

/** Sends a raw request tagged with a fresh request id; returns the answer, what the upstream saw, and the record. */
async function send(p: TestProxy, line: string, headers: string, body: string | Buffer = ''): Promise<{ answer: string; seen: TestUpstream['seen']; record: AuditRecord | undefined }> {
  const id = `trust-${++seq}`;
  const head = Buffer.from(`${line} HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\n${headers}\r\n`, 'latin1');
  const answer = await rawRequest(p.port, Buffer.concat([head, Buffer.from(body)]));
  const seen = upstream.seen.filter((s) => s.headers['x-request-id'] === id);
  const record = await eventually(async () => (await recordsOf(p)).find((r) => r.requestId === id));
  return { answer, seen, record };
}

t.test('finding 3: the caller is identified from the headers as they are forwarded', async (t) => {
  const a = await send(proxy, 'GET /v1/x', `Authorization: Bearer ${KEY_A}\r\nX-Api-Key: ${KEY_B}\r\nConnection: keep-alive, Authorization\r\n`);
  t.equal(a.seen[0]?.headers.authorization, undefined, 'Authorization, named in Connection, is not forwarded');
  t.equal(a.seen[0]?.headers['x-api-key'], KEY_B);
  t.equal(a.record?.apiKeyId, 'key-b', 'so the record names key B, the credential the upstream got');

  const b = await send(proxy, 'GET /v1/x', `X-Api-Key: ${KEY_A}\r\nConnection: close, X-Api-Key\r\n`);
  t.equal(b.seen[0]?.headers['x-api-key'], undefined, 'no credential reached the upstream');
  t.same([b.record?.principalType, b.record?.apiKeyId], ['anonymous', null], 'and the record names nobody');
});

t.test('finding 3: two known credentials naming different principals are refused as an ambiguous caller', async (t) => {
  const both = await send(proxy, 'GET /v1/x', `Authorization: Bearer ${KEY_A}\r\nX-Api-Key: ${KEY_B}\r\nConnection: close\r\n`);
  t.match(both.answer, /^HTTP\/1\.1 400 [^]*ambiguous caller/);
  t.equal(both.seen.length, 0, 'not forwarded');
  t.same([both.record?.statusCode, both.record?.outcome, both.record?.authError], [400, 'rejected', 'ambiguous_caller']);

  const same = await send(proxy, 'GET /v1/x', `Authorization: Bearer ${KEY_A}\r\nX-Api-Key: ${KEY_A}\r\nConnection: close\r\n`);
  t.equal(same.seen.length, 1, 'the same key twice is one caller: forwarded');
  t.equal(same.record?.apiKeyId, 'key-a');
});

t.test('finding 3 / issue 16: a known key beside an unknown credential identifies by the known one, noted', async (t) => {
  const portkey = await send(proxy, 'GET /v1/x', `x-portkey-api-key: ${KEY_A}\r\nAuthorization: Bearer sk-provider-key-not-ours\r\nConnection: close\r\n`);
  t.equal(portkey.seen.length, 1, 'forwarded with both headers');
  t.equal(portkey.seen[0]?.headers.authorization, 'Bearer sk-provider-key-not-ours');
  t.same([portkey.record?.apiKeyId, portkey.record?.authError, portkey.record?.otherCredentials], ['key-a', null, ['authorization']]);

  const reader = await request(`${proxy.url}/v1/audit-logs`, {
    headers: { 'x-portkey-api-key': KEY_A, authorization: 'Bearer sk-provider-key-not-ours' },
  });
  t.equal(reader.statusCode, 200, 'a Portkey client reading the audit log with its provider key beside is let in');
  await reader.body.dump();
  const none = await request(`${proxy.url}/v1/audit-logs`);
  const body = await none.body.json() as { message: string };
  t.equal(none.statusCode, 401);
  t.match(body.message, /Authorization: Bearer, x-portkey-api-key or x-api-key/, 'the 401 names every accepted header');
});

t.test('finding 6: one normalization of the target for routes, exclusions, the record and forwarding', async (t) => {
  const escape = await send(proxy, 'POST /v1/ping/../../v1/admin/delete-all', 'Content-Length: 0\r\nConnection: close\r\n');
  t.match(escape.answer, /^HTTP\/1\.1 400 [^]*dot segments/, 'dot segments are refused');
  t.equal(escape.seen.length, 0, 'never forwarded');
  t.same([escape.record?.statusCode, escape.record?.outcome], [400, 'rejected'], 'and recorded although the raw path starts with an excluded prefix');
  for (const target of ['/v1/%2e%2e/admin', '/v1/a%2Fb', '/v1/a\\b', 'http://x/v1/ping/../admin']) {
    const res = await send(proxy, `GET ${target}`, 'Connection: close\r\n');
    t.match(res.answer, /^HTTP\/1\.1 400 /, `${target}: refused`);
    t.equal(res.seen.length, 0, `${target}: not forwarded`);
  }
  const absolute = await send(proxy, 'GET http://x/v1/abs?q=1', 'Connection: close\r\n');
  t.equal(absolute.seen[0]?.url, '/v1/abs?q=1', 'absolute form: the path and query as sent');
  t.equal(absolute.record?.path, '/v1/abs', 'the same path recorded');
});

t.test('finding 2: nothing is forwarded for a client gone while its identity resolves; the record names the caller', async (t) => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'slow', alg: 'RS256' };
  const jwks = await new TestUpstream().start();
  jwks.routes.set('/jwks', (_req, res) => { setTimeout(() => res.end(JSON.stringify({ keys: [jwk] })), 300); });
  for (const enforce of [false, true]) {
    const p = await startTestProxy(upstream.url, { auth: { enforce, jwt: { jwksUrl: `${jwks.url}/jwks` } } });
    const token = await new SignJWT({ sub: `user-${enforce}`, org_id: 'org-j' }).setProtectedHeader({ alg: 'RS256', kid: 'slow' })
      .setExpirationTime('5m').sign(privateKey);
    const id = `gone-${enforce}`;
    const socket = connect(p.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.end(`GET /v1/gone HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    socket.destroy();
    const record = (await eventually(async () => (await recordsOf(p)).find((r) => r.requestId === id)))!;
    await new Promise((r) => setTimeout(r, 100));
    t.equal(upstream.seen.filter((s) => s.headers['x-request-id'] === id).length, 0, `enforce ${enforce}: not forwarded`);
    t.same([record.userId, record.organizationId, record.outcome, record.statusCode], [`user-${enforce}`, 'org-j', 'client_aborted', 0],
      `enforce ${enforce}: recorded under the resolved principal, client_aborted`);
    await p.close();
  }
  await jwks.stop();
});

t.test('finding 11: transfer codings and repeated headers are recorded with the status the client got', async (t) => {
  const gz = gzipSync('{"hello":"gzip"}');
  const chunked = Buffer.concat([Buffer.from(`${gz.length.toString(16)}\r\n`), gz, Buffer.from('\r\n0\r\n\r\n')]);
  const gzip = await send(proxy, 'POST /v1/gz', 'Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n',
    chunked);
  t.equal(gzip.seen[0]?.body, '{"hello":"gzip"}', 'the gzip transfer coding is decoded, not dropped: the upstream gets the content');
  t.same([gzip.record?.statusCode, gzip.record?.requestBody], [200, '{"hello":"gzip"}']);

  const deflated = deflateSync('{"hello":"deflate"}');
  const deflate = await send(proxy, 'POST /v1/deflate', 'Content-Type: application/json\r\nTransfer-Encoding: deflate, chunked\r\n'
    + 'Connection: close\r\n', Buffer.concat([Buffer.from(`${deflated.length.toString(16)}\r\n`), deflated, Buffer.from('\r\n0\r\n\r\n')]));
  t.equal(deflate.seen[0]?.body, '{"hello":"deflate"}', 'deflate too');
  const twice = await send(proxy, 'POST /v1/twice', 'Transfer-Encoding: gzip, gzip, chunked\r\nConnection: close\r\n', '0\r\n\r\n');
  t.same([twice.record?.statusCode, twice.seen.length], [501, 0], 'two codings before chunked: 501');

  const bad = await send(proxy, 'POST /v1/bad-te', 'Transfer-Encoding: xchunked\r\nConnection: close\r\n', '5\r\nhello\r\n0\r\n\r\n');
  t.match(bad.answer, /^HTTP\/1\.1 400 /);
  t.same([bad.record?.statusCode, bad.record?.outcome, bad.seen.length], [400, 'rejected', 0], 'xchunked: 400 rejected, not 0 client_aborted');

  const brotli = await send(proxy, 'POST /v1/br', 'Transfer-Encoding: br, chunked\r\nConnection: close\r\n', '0\r\n\r\n');
  t.same([brotli.record?.statusCode, brotli.seen.length], [501, 0], 'a coding the proxy cannot pass on: 501, not forwarded');

  const notGzip = await send(proxy, 'POST /v1/not-gzip', 'Transfer-Encoding: gzip, chunked\r\nConnection: close\r\n', '5\r\nhello\r\n0\r\n\r\n');
  t.same([notGzip.record?.statusCode, notGzip.record?.outcome], [400, 'rejected'], 'bytes that are not gzip: 400');

  const hosts = await send(proxy, 'GET /v1/hosts', 'Host: y\r\nConnection: close\r\n');
  t.match(hosts.answer, /^HTTP\/1\.1 400 [^]*Host header is repeated/);
  t.same([hosts.record?.statusCode, hosts.record?.outcome, hosts.seen.length], [400, 'rejected', 0], 'two Host headers: 400 rejected, not 502');

  // Found by review: the resolver joined two X-Forwarded-User lines into one user id ("admin, alice"), while the
  // upstream got two lines and may believe either.
  const users = await send(proxy, 'GET /v1/users-twice', 'X-Forwarded-User: admin\r\nx-forwarded-user: alice\r\nConnection: close\r\n');
  t.match(users.answer, /^HTTP\/1\.1 400 [^]*x-forwarded-user header is repeated/);
  t.same([users.record?.statusCode, users.record?.outcome, users.seen.length], [400, 'rejected', 0], 'a repeated identity header: 400, not forwarded');

  const types = await send(proxy, 'GET /two-types', 'Connection: close\r\n');
  t.match(types.answer, /^HTTP\/1\.1 500 /, 'two Content-Type headers from the upstream with response capture on: passed through');
  t.same([types.record?.statusCode, types.record?.outcome, types.record?.responseBody], [500, 'completed', '{"error":"boom"}']);
});
