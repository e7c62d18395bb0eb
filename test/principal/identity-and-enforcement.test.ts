import t from 'tap';
import { canReadAllOrganizations, canReadAudit, rejection } from '../../src/principal/enforcement.js';
import { ANONYMOUS, type Principal } from '../../src/principal/principal.js';
import { digestOf, resolverFor } from './fixtures/helpers.js';

const KEY = 'ak_enforced_key';
const keys = [
  { id: 'key_reader', sha256: digestOf(KEY), organizationId: 'org_1', scopes: ['audit:read'] },
  { id: 'key_admin', sha256: digestOf('ak_admin'), organizationId: 'org_1', scopes: ['audit:read:all'] },
];
const identity = { 'x-auth-request-user': 'alice', 'x-forwarded-org': 'org_a', 'x-auth-request-workspace': 'ws' };

t.test('identity headers are believed from trusted proxies only', async (t) => {
  const { resolver } = resolverFor(
    { identityHeaders: { workspace: ['x-auth-request-workspace'] } },
    { trustProxy: ['10.0.0.0/8', '::1'] },
  );
  t.teardown(() => resolver.close());
  t.match(resolver.resolve(identity, '10.1.2.3'), {
    principalType: 'user', principalId: 'alice', userId: 'alice', organizationId: 'org_a', workspaceId: 'ws',
    authScheme: 'identity_header', authenticated: true,
  });
  t.match(resolver.resolve(identity, '::ffff:10.9.9.9'), { userId: 'alice' }, 'IPv4-mapped trusted peer');
  t.equal(resolver.resolve(identity, '192.168.1.5'), ANONYMOUS, 'untrusted peer: ignored');
  t.match(resolver.resolve({ 'x-forwarded-email': 'bob@example.com' }, '::1'), { userId: 'bob@example.com' }, 'email stands in');
  t.equal(resolver.resolve({ 'x-forwarded-org': 'org_only' }, '::1'), ANONYMOUS, 'an organization alone names nobody');
  t.match(resolver.resolve({ ...identity, 'x-api-key': KEY }, '10.0.0.1'), { authScheme: 'api_key', authError: 'unknown_key' },
    'a presented credential decides; identity headers do not override it');
});

t.test('without trustProxy, identity headers never change the principal', async (t) => {
  const { resolver } = resolverFor({});
  t.teardown(() => resolver.close());
  t.equal(resolver.resolve(identity, '127.0.0.1'), ANONYMOUS);
});

t.test('observe mode refuses nothing; enforce mode refuses missing and invalid credentials', async (t) => {
  const { resolver } = resolverFor({ keys });
  t.teardown(() => resolver.close());
  const known = resolver.resolve({ 'x-api-key': KEY }, '::1') as Principal;
  const unknown = resolver.resolve({ 'x-api-key': 'ak_nope' }, '::1') as Principal;
  const observe = { enforce: false, realm: 'audit-proxy', apiKeyHeaders: [] };
  const enforce = { enforce: true, realm: 'audit-proxy', apiKeyHeaders: [] };

  for (const p of [known, unknown, ANONYMOUS]) t.equal(rejection(p, observe), null);
  t.equal(rejection(known, enforce), null);
  t.same(rejection(ANONYMOUS, enforce), {
    status: 401,
    message: 'authentication required: send an API key (Authorization: Bearer, x-portkey-api-key or x-api-key) or a bearer token',
    wwwAuthenticate: 'Bearer realm="audit-proxy"',
  });
  t.same(rejection(unknown, enforce), {
    status: 401,
    message: 'the API key is not recognised (unknown_key)',
    wwwAuthenticate: 'Bearer realm="audit-proxy", error="invalid_token", error_description="unknown_key"',
  });
  const odd = { ...ANONYMOUS, authError: 'something_new' };
  t.match(rejection(odd, { enforce: true, realm: 'api', apiKeyHeaders: [] }), { message: /not accepted \(something_new\)/, wwwAuthenticate: /realm="api"/ });
});

t.test('audit access helpers follow the scopes of authenticated principals', async (t) => {
  const { resolver } = resolverFor({ keys });
  t.teardown(() => resolver.close());
  const reader = resolver.resolve({ 'x-api-key': KEY }, '::1') as Principal;
  const admin = resolver.resolve({ 'x-api-key': 'ak_admin' }, '::1') as Principal;
  t.ok(canReadAudit(reader));
  t.notOk(canReadAllOrganizations(reader));
  t.ok(canReadAudit(admin));
  t.ok(canReadAllOrganizations(admin));
  t.notOk(canReadAudit(ANONYMOUS));
  t.notOk(canReadAudit({ ...reader, authenticated: false }), 'scopes of an unaccepted credential count for nothing');
  t.notOk(canReadAllOrganizations({ ...admin, authenticated: false }));
});
