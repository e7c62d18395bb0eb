import t from 'tap';
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal, PrincipalResolver } from '../../src/principal/principal.js';
import { digestOf, resolverFor } from './fixtures/helpers.js';
import { closedPortUrl, loopbackServer, sendJson } from './fixtures/servers.js';

const GOOD = 'ik_live_good_key';
const seen: { body: string; headers: IncomingHttpHeaders }[] = [];

async function introspectionServer(answer: (token: string) => Record<string, unknown>) {
  return loopbackServer((req, res, body) => {
    seen.push({ body, headers: req.headers });
    sendJson(res, 200, answer(new URLSearchParams(body).get('token') ?? ''));
  });
}

const ask = (resolver: PrincipalResolver, key: string) => resolver.resolve({ 'x-api-key': key }, '127.0.0.1');

t.test('an active answer is mapped, cached and asked with Basic auth and a form body', async (t) => {
  const server = await introspectionServer((token) => (token === GOOD
    ? { active: true, key_id: 'key_remote', sub: 'user_1', org_id: 'org_r', scope: 'audit:read', exp: Math.floor(Date.now() / 1000) + 600 }
    : { active: false }));
  t.teardown(() => server.close());
  const { resolver, log } = resolverFor({
    introspection: { url: `${server.url}/introspect`, clientId: 'proxy', clientSecret: 's3cret' },
  });
  t.teardown(() => resolver.close());

  const first = ask(resolver, GOOD);
  t.ok(first instanceof Promise);
  t.match(await first, {
    principalType: 'api_key', principalId: 'key_remote', apiKeyId: 'key_remote', userId: 'user_1', organizationId: 'org_r',
    scopes: ['audit:read'], authScheme: 'introspection', authenticated: true, authError: null,
  });
  t.equal(seen.at(-1)!.headers.authorization, `Basic ${Buffer.from('proxy:s3cret').toString('base64')}`);
  t.equal(seen.at(-1)!.headers['content-type'], 'application/x-www-form-urlencoded');
  t.equal(new URLSearchParams(seen.at(-1)!.body).get('token'), GOOD);

  const again = ask(resolver, GOOD);
  t.notOk(again instanceof Promise, 'the positive cache answers synchronously');
  t.equal(server.hits(), 1);

  const inactive = await ask(resolver, 'ik_revoked');
  t.match(inactive, { principalType: 'api_key', authError: 'unknown_key', authenticated: false, organizationId: null });
  t.match(inactive.apiKeyId, /^fp_/);
  t.notOk(ask(resolver, 'ik_revoked') instanceof Promise, 'the negative cache answers synchronously');
  t.equal(server.hits(), 2);
  t.notOk(log.text().includes(GOOD), 'the key never reaches the log');
});

t.test('registry keys never reach the endpoint; concurrent asks for one key share one call', async (t) => {
  const server = await introspectionServer(() => ({ active: true, sub: 'u' }));
  t.teardown(() => server.close());
  const registryKey = 'rk_local';
  const { resolver } = resolverFor({
    keys: [{ id: 'key_local', sha256: digestOf(registryKey), organizationId: 'o' }],
    introspection: { url: server.url, claims: { apiKeyId: 'jti' } },
  });
  t.teardown(() => resolver.close());
  t.match(ask(resolver, registryKey), { apiKeyId: 'key_local' });
  t.equal(server.hits(), 0);
  const answers = await Promise.all(Array.from({ length: 10 }, () => ask(resolver, 'ik_shared')));
  t.equal(server.hits(), 1);
  t.ok(answers.every((p) => p.authenticated && p.apiKeyId === answers[0]!.apiKeyId));
  t.match(answers[0]!.apiKeyId, /^fp_/, 'no key id in the answer: the fingerprint stands in');
});

t.test('a slow endpoint times out without stalling the request', async (t) => {
  const server = await loopbackServer((_req, res) => { setTimeout(() => sendJson(res, 200, { active: true }), 2_000); });
  t.teardown(() => server.close());
  const { resolver } = resolverFor({ introspection: { url: server.url, timeoutMs: 150 } });
  t.teardown(() => resolver.close());
  const started = Date.now();
  const principal = await ask(resolver, GOOD);
  const elapsed = Date.now() - started;
  t.match(principal, { principalType: 'api_key', authError: 'introspection_unavailable', authenticated: false });
  t.ok(elapsed < 600, `answered after ${elapsed} ms (timeout 150 ms)`);
});

t.test('a dead endpoint (connection refused) yields introspection_unavailable', async (t) => {
  const { resolver } = resolverFor({ introspection: { url: await closedPortUrl() } });
  t.teardown(() => resolver.close());
  const principal = await ask(resolver, GOOD);
  t.match(principal, { authError: 'introspection_unavailable', organizationId: null });
  t.notOk(JSON.stringify(principal).includes(GOOD));
});

t.test('a flapping endpoint opens the breaker, which half-opens and recovers', async (t) => {
  let healthy = false;
  const server = await loopbackServer((_req, res) => (healthy ? sendJson(res, 200, { active: true, sub: 'u' }) : sendJson(res, 503, {})));
  t.teardown(() => server.close());
  const { resolver, log } = resolverFor({ introspection: { url: server.url, failureThreshold: 3, resetMs: 300, negativeTtlMs: 0 } });
  t.teardown(() => resolver.close());

  for (let i = 0; i < 3; i++) t.match(await ask(resolver, `k${i}`), { authError: 'introspection_unavailable' });
  t.equal(server.hits(), 3);
  const whileOpen = ask(resolver, 'k_open');
  t.notOk(whileOpen instanceof Promise, 'an open breaker answers at once');
  t.match(whileOpen, { authError: 'introspection_unavailable' });
  t.equal(server.hits(), 3, 'no call while open');
  t.ok(log.lines().some((l) => l.msg === 'introspection breaker opened'));

  await new Promise((r) => setTimeout(r, 350));
  t.match(await ask(resolver, 'k_trial_fails'), { authError: 'introspection_unavailable' }, 'half-open trial fails');
  t.equal(server.hits(), 4);
  t.match(ask(resolver, 'k_reopened'), { authError: 'introspection_unavailable' }, 'reopened');
  t.equal(server.hits(), 4);

  await new Promise((r) => setTimeout(r, 350));
  healthy = true;
  t.match(await ask(resolver, 'k_trial_ok'), { authenticated: true }, 'half-open trial succeeds');
  t.match(await ask(resolver, 'k_after'), { authenticated: true }, 'closed again');
  t.equal(server.hits(), 6);
  t.ok(log.lines().some((l) => l.msg === 'introspection breaker closed'));
});

t.test('answers that are not 200 JSON objects count as failures', async (t) => {
  const server = await loopbackServer((req, res) => sendJson(res, 200, req.url === '/array' ? [1] : 'text'));
  t.teardown(() => server.close());
  const { resolver } = resolverFor({ introspection: { url: `${server.url}/array` } });
  t.teardown(() => resolver.close());
  t.match(await ask(resolver, GOOD), { authError: 'introspection_unavailable' });
});

t.test('a positive answer is not cached past the key exp', async (t) => {
  const server = await introspectionServer(() => ({ active: true, sub: 'u', exp: Math.floor(Date.now() / 1000) - 1 }));
  t.teardown(() => server.close());
  const { resolver } = resolverFor({ introspection: { url: server.url } });
  t.teardown(() => resolver.close());
  t.match(await ask(resolver, GOOD), { authenticated: true });
  t.ok(ask(resolver, GOOD) instanceof Promise, 'asked again');
  await (ask(resolver, GOOD) as Promise<Principal>);
  t.ok(server.hits() >= 2);
});
