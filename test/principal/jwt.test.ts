import t from 'tap';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { rejection } from '../../src/principal/enforcement.js';
import type { Principal } from '../../src/principal/principal.js';
import { resolverFor } from './fixtures/helpers.js';
import { closedPortUrl, loopbackServer, sendJson } from './fixtures/servers.js';

const SECRET = 'a-shared-secret-of-at-least-32-bytes!!';
const secretKey = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

function hsToken(claims: Record<string, unknown>, alg = 'HS256', key: Uint8Array = secretKey) {
  return new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt().setExpirationTime('5m').sign(key);
}

async function resolveBearer(resolver: { resolve: (h: Record<string, string>, ip: string) => Principal | Promise<Principal> }, token: string) {
  return await resolver.resolve({ authorization: `Bearer ${token}` }, '127.0.0.1');
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

t.test('HS256: claims are mapped and a repeated token is answered synchronously', async (t) => {
  const { resolver } = resolverFor({ jwt: { secret: SECRET, issuer: 'https://issuer', audience: 'audit' } });
  t.teardown(() => resolver.close());
  const token = await new SignJWT({ org_id: 'org_9', workspace_id: 'ws_1', scope: 'audit:read write' })
    .setProtectedHeader({ alg: 'HS256' }).setSubject('user_42').setIssuer('https://issuer').setAudience('audit')
    .setExpirationTime('5m').sign(secretKey);
  const first = resolver.resolve({ authorization: `Bearer ${token}` }, '::1');
  t.ok(first instanceof Promise, 'first verification is asynchronous');
  t.match(await first, {
    principalType: 'user', principalId: 'user_42', userId: 'user_42', organizationId: 'org_9', workspaceId: 'ws_1',
    scopes: ['audit:read', 'write'], authScheme: 'jwt', authError: null, authenticated: true, apiKeyId: null,
  });
  const again = resolver.resolve({ authorization: `Bearer ${token}` }, '::1');
  t.notOk(again instanceof Promise, 'a verified token is remembered');
  t.equal(again, await first);
});

t.test('HS384/HS512, permissions arrays and service-account tokens', async (t) => {
  const { resolver } = resolverFor({ jwt: { secret: SECRET } });
  t.teardown(() => resolver.close());
  t.match(await resolveBearer(resolver, await hsToken({ sub: 'u1', permissions: ['audit:read:all', 7] }, 'HS512')),
    { principalType: 'user', scopes: ['audit:read:all'] });
  t.match(await resolveBearer(resolver, await hsToken({ sub: 'client', service_account_id: 'sa_9', org_id: 12 }, 'HS384')),
    { principalType: 'service_account', principalId: 'sa_9', serviceAccountId: 'sa_9', organizationId: '12' });
});

t.test('custom claim mapping', async (t) => {
  const { resolver } = resolverFor({ jwt: { secret: SECRET, claims: { organizationId: 'tenant', scopes: 'scp' } } });
  t.teardown(() => resolver.close());
  t.match(await resolveBearer(resolver, await hsToken({ sub: 'u', tenant: 't1', scp: ['a'], scope: 'ignored' })),
    { organizationId: 't1', scopes: ['a'] });
});

t.test('forged and invalid HS tokens are refused with the right authError', async (t) => {
  const { resolver } = resolverFor({ jwt: { secret: SECRET, issuer: 'iss', audience: 'aud', clockToleranceSec: 0 } });
  t.teardown(() => resolver.close());
  const base = () => new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('iss').setAudience('aud');
  const cases: [string, string | Promise<string>][] = [
    ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'admin', iss: 'iss', aud: 'aud' })}.`],
    ['wrong key', base().setExpirationTime('5m').sign(new TextEncoder().encode('another-secret-another-secret-xx'))],
    ['expired', base().setExpirationTime(now() - 60).sign(secretKey)],
    ['nbf in the future', base().setNotBefore(now() + 600).setExpirationTime('1h').sign(secretKey)],
    ['wrong issuer', new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('evil').setAudience('aud').sign(secretKey)],
    ['wrong audience', new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('iss').setAudience('x').sign(secretKey)],
    ['garbage segments', 'eyJub3Q.anNvbg.c2ln'],
    ['RS256 header without a JWKS', `${b64({ alg: 'RS256' })}.${b64({ sub: 'u' })}.c2ln`],
  ];
  const expected = ['unsupported_alg', 'bad_signature', 'expired', 'not_yet_valid', 'bad_claims', 'bad_claims',
    'malformed_token', 'unsupported_alg'];
  for (const [i, [name, token]] of cases.entries()) {
    const principal = await resolveBearer(resolver, await token);
    t.match(principal, { principalType: 'anonymous', authScheme: 'jwt', authError: expected[i], authenticated: false }, name);
    t.equal(principal.userId, null, `${name}: unverified claims are not believed`);
    t.match(rejection(principal, { enforce: true, realm: 'audit-proxy', apiKeyHeaders: [] }),
      { status: 401, wwwAuthenticate: `Bearer realm="audit-proxy", error="invalid_token", error_description="${expected[i]}"` });
  }
});

t.test('a cached token is not served past its exp', async (t) => {
  const { resolver } = resolverFor({ jwt: { secret: SECRET, clockToleranceSec: 0 } });
  t.teardown(() => resolver.close());
  const token = await new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(now() + 1).sign(secretKey);
  t.match(await resolveBearer(resolver, token), { authenticated: true });
  await new Promise((r) => setTimeout(r, 2_100));
  t.match(await resolveBearer(resolver, token), { authError: 'expired' });
});

interface SigningKey { kid: string; privateKey: CryptoKey; jwk: JWK }

async function signingKey(kid: string, alg: 'ES256' | 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

function asymToken(key: SigningKey, alg: 'ES256' | 'RS256', claims: Record<string, unknown> = { sub: 'u_jwks' }, kid = key.kid) {
  return new SignJWT(claims).setProtectedHeader({ alg, kid }).setExpirationTime('5m').sign(key.privateKey);
}

t.test('JWKS: ES256 and RS256 accepted, key rotation picked up, bogus kids rate-limited', async (t) => {
  const es = await signingKey('es-1', 'ES256');
  const rs = await signingKey('rs-1', 'RS256');
  const published: JWK[] = [es.jwk, rs.jwk];
  const jwks = await loopbackServer((_req, res) => sendJson(res, 200, { keys: published }));
  t.teardown(() => jwks.close());
  const { resolver } = resolverFor({ jwt: { jwksUrl: `${jwks.url}/jwks.json`, jwksCooldownMs: 300 } });
  t.teardown(() => resolver.close());

  t.match(await resolveBearer(resolver, await asymToken(es, 'ES256')), { userId: 'u_jwks', authenticated: true });
  t.match(await resolveBearer(resolver, await asymToken(rs, 'RS256')), { userId: 'u_jwks', authenticated: true });
  t.equal(jwks.hits(), 1, 'the set was fetched once');

  const rotated = await signingKey('es-2', 'ES256');
  published.push(rotated.jwk);
  await new Promise((r) => setTimeout(r, 350)); // past the cooldown of the first fetch
  t.match(await resolveBearer(resolver, await asymToken(rotated, 'ES256', { sub: 'rotated' })), { userId: 'rotated' },
    'a token signed by a new key is accepted after the refetch');
  t.equal(jwks.hits(), 2);

  const bogus = await Promise.all(Array.from({ length: 20 }, (_, i) => asymToken(es, 'ES256', { sub: 'x' }, `bogus-${i}`)));
  const answers = await Promise.all(bogus.map((token) => resolveBearer(resolver, token)));
  t.ok(answers.every((p) => p.authError === 'unknown_kid'), 'crafted kids are unknown_kid');
  t.ok(jwks.hits() <= 3, `a flood of bogus kids refetched at most once (hits ${jwks.hits()})`);

  const impostor = await signingKey('es-1', 'ES256');
  t.match(await resolveBearer(resolver, await asymToken(impostor, 'ES256')), { authError: 'bad_signature' },
    'a known kid signed by another key');
});

t.test('algorithm confusion: HS256 signed with the RSA public key is refused', async (t) => {
  const rs = await signingKey('rs-1', 'RS256');
  const jwks = await loopbackServer((_req, res) => sendJson(res, 200, { keys: [rs.jwk] }));
  t.teardown(() => jwks.close());
  const { publicKey } = await generateKeyPair('RS256', { extractable: true });
  const pem = await exportSPKI(publicKey);
  const jwkPublic = JSON.stringify(rs.jwk);
  const confused = (material: string) => new SignJWT({ sub: 'admin' }).setProtectedHeader({ alg: 'HS256', kid: 'rs-1' })
    .setExpirationTime('5m').sign(new TextEncoder().encode(material));

  const jwksOnly = resolverFor({ jwt: { jwksUrl: jwks.url } }).resolver;
  t.teardown(() => jwksOnly.close());
  t.match(await resolveBearer(jwksOnly, await confused(pem)), { authError: 'unsupported_alg', authenticated: false });
  t.match(await resolveBearer(jwksOnly, await confused(jwkPublic)), { authError: 'unsupported_alg' });

  const both = resolverFor({ jwt: { jwksUrl: jwks.url, secret: SECRET } }).resolver;
  t.teardown(() => both.close());
  t.match(await resolveBearer(both, await confused(pem)), { authError: 'bad_signature', authenticated: false },
    'HS* is checked against the configured secret only');
  t.match(await resolveBearer(both, await hsToken({ sub: 'ok' })), { userId: 'ok' });
});

t.test('an unreachable JWKS gives jwks_unavailable without failing the request', async (t) => {
  const es = await signingKey('es-1', 'ES256');
  const { resolver, log } = resolverFor({ jwt: { jwksUrl: `${await closedPortUrl()}/jwks`, jwksCooldownMs: 0 } });
  t.teardown(() => resolver.close());
  t.match(await resolveBearer(resolver, await asymToken(es, 'ES256')), { authError: 'jwks_unavailable' });
  t.ok(log.lines().some((l) => l.msg === 'JWKS fetch failed'), 'the failure is logged');

  const broken = await loopbackServer((_req, res) => res.writeHead(500).end('oops'));
  t.teardown(() => broken.close());
  const second = resolverFor({ jwt: { jwksUrl: broken.url, jwksCooldownMs: 0 } }).resolver;
  t.teardown(() => second.close());
  t.match(await resolveBearer(second, await asymToken(es, 'ES256')), { authError: 'jwks_unavailable' });
});

t.test('a stale JWKS is refreshed in the background while the old set keeps serving', async (t) => {
  const es = await signingKey('es-1', 'ES256');
  const jwks = await loopbackServer((_req, res) => sendJson(res, 200, { keys: [es.jwk] }));
  t.teardown(() => jwks.close());
  const { resolver } = resolverFor({ jwt: { jwksUrl: jwks.url, jwksMaxAgeMs: 1, jwksCooldownMs: 0, cacheTtlMs: 0 } });
  t.teardown(() => resolver.close());
  const token = await asymToken(es, 'ES256');
  t.match(await resolveBearer(resolver, token), { authenticated: true });
  await new Promise((r) => setTimeout(r, 20));
  t.match(await resolveBearer(resolver, token), { authenticated: true });
  await new Promise((r) => setTimeout(r, 50));
  t.ok(jwks.hits() >= 2, 'refetched once stale');
});
