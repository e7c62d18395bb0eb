import t from 'tap';
import { readFileSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { createPrincipalResolver } from '../../src/principal/resolver.js';
import { loadFingerprintSecret, FINGERPRINT_SECRET_FILE } from '../../src/principal/fingerprint-secret.js';
import { ANONYMOUS, type Principal } from '../../src/principal/principal.js';
import { capturingLogger, configWith, digestOf, eventually, resolverFor, tempDir } from './fixtures/helpers.js';

const KEY = 'ak_live_registry_key_0123456789';
const entry = {
  id: 'key_ops', sha256: digestOf(KEY), organizationId: 'org_1', serviceAccountId: 'sa_ci',
  userId: 'u_7', workspaceId: 'ws_2', name: 'CI', scopes: ['audit:read'],
};

t.test('a registry key is recognised through every header style, synchronously', async (t) => {
  const { resolver } = resolverFor({ keys: [entry], apiKeyHeaders: ['X-Custom-Key'] });
  t.teardown(() => resolver.close());
  const styles = [
    { authorization: `Bearer ${KEY}` },
    { authorization: `bearer   ${KEY}` },
    { 'x-api-key': KEY },
    { 'x-portkey-api-key': KEY },
    { 'x-custom-key': KEY },
    { 'x-api-key': [KEY, 'other'] },
  ];
  for (const headers of styles) {
    const principal = resolver.resolve(headers, '10.0.0.1');
    t.notOk(principal instanceof Promise, 'answered without I/O');
    t.match(principal, {
      principalType: 'api_key', principalId: 'key_ops', apiKeyId: 'key_ops', organizationId: 'org_1',
      serviceAccountId: 'sa_ci', userId: 'u_7', workspaceId: 'ws_2', scopes: ['audit:read'],
      authScheme: 'api_key', authError: null, authenticated: true,
    }, Object.keys(headers)[0]);
  }
});

t.test('an unknown key gets a stable fingerprint that does not reveal it', async (t) => {
  const dataDir = tempDir();
  const config = configWith({ keys: [entry] });
  const first = createPrincipalResolver(config, { logger: capturingLogger().logger, dataDir });
  const second = createPrincipalResolver(config, { logger: capturingLogger().logger, dataDir });
  t.teardown(async () => { await first.close(); await second.close(); });
  const unknown = 'sk_unknown_secret_value';
  const a = first.resolve({ 'x-api-key': unknown }, '::1') as Principal;
  const b = second.resolve({ authorization: `Bearer ${unknown}` }, '::1') as Principal;
  t.match(a, { principalType: 'api_key', organizationId: null, authError: 'unknown_key', authenticated: false });
  t.match(a.apiKeyId, /^fp_[0-9a-f]{16}$/);
  t.equal(a.principalId, a.apiKeyId);
  t.equal(b.apiKeyId, a.apiKeyId, 'same fingerprint across resolvers sharing the data directory');
  t.notOk(JSON.stringify(a).includes(unknown), 'the key is nowhere in the principal');
  const other = first.resolve({ 'x-api-key': `${unknown}x` }, '::1') as Principal;
  t.not(other.apiKeyId, a.apiKeyId, 'different keys, different fingerprints');
  const file = join(dataDir, FINGERPRINT_SECRET_FILE);
  t.equal(statSync(file).mode & 0o777, 0o600, 'secret file is private');
});

t.test('the configured fingerprint secret wins and a corrupt secret file is refused', async (t) => {
  const dataDir = tempDir();
  t.equal(loadFingerprintSecret('configured', dataDir), 'configured');
  const generated = loadFingerprintSecret(null, dataDir);
  t.equal(loadFingerprintSecret(null, dataDir), generated, 'read back, not regenerated');
  writeFileSync(join(dataDir, FINGERPRINT_SECRET_FILE), 'short');
  t.throws(() => loadFingerprintSecret(null, dataDir), /fingerprint secret .* is corrupt/);
});

t.test('no credential and no identity is anonymous; other schemes are not credentials', async (t) => {
  const { resolver } = resolverFor({ keys: [entry] });
  t.teardown(() => resolver.close());
  t.equal(resolver.resolve({}, '1.2.3.4'), ANONYMOUS);
  t.equal(resolver.resolve({ authorization: 'Basic dXNlcjpwYXNz' }, '1.2.3.4'), ANONYMOUS);
  t.equal(resolver.resolve({ authorization: 'Bearer ', 'x-api-key': '  ' }, '1.2.3.4'), ANONYMOUS);
});

t.test('a bearer value that is not one token is a malformed credential, not nobody', async (t) => {
  const { resolver } = resolverFor({ keys: [entry] });
  t.teardown(() => resolver.close());
  // Found by review: recorded as anonymous with no error, while an upstream splitting on spaces took the key.
  const split = resolver.resolve({ authorization: `Bearer ${KEY} junk` }, '::1') as Principal;
  t.match(split, { principalType: 'api_key', authError: 'malformed_token', authenticated: false, organizationId: null });
  t.match(split.apiKeyId, /^fp_/, 'named by the fingerprint of the whole value');
  t.notMatch(JSON.stringify(split), KEY, 'the key itself is not kept');
});

t.test('a JWT-shaped bearer is an API key when no JWT verification is configured', async (t) => {
  const jwtShapedKey = 'aaa.bbb.ccc';
  const { resolver } = resolverFor({ keys: [{ ...entry, sha256: digestOf(jwtShapedKey) }] });
  t.teardown(() => resolver.close());
  t.match(resolver.resolve({ authorization: `Bearer ${jwtShapedKey}` }, '::1'), { apiKeyId: 'key_ops' });
});

t.test('keys file: list or {keys}, live reload, broken edits keep the previous registry', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'keys.yaml');
  const second = 'ak_second_key';
  writeFileSync(file, `- id: key_file\n  sha256: ${digestOf(KEY)}\n  organizationId: org_f\n`);
  const { resolver, log } = resolverFor({ keysFile: file });
  t.teardown(() => resolver.close());
  t.match(resolver.resolve({ 'x-api-key': KEY }, '::1'), { apiKeyId: 'key_file', organizationId: 'org_f' });
  t.match(resolver.resolve({ 'x-api-key': second }, '::1'), { authError: 'unknown_key' });

  // an atomic replace (write temp + rename), in JSON with the {keys: [...]} form
  writeFileSync(`${file}.tmp`, JSON.stringify({ keys: [{ id: 'key_two', sha256: digestOf(second), organizationId: 'org_2' }] }));
  renameSync(`${file}.tmp`, file);
  await eventually(() => (resolver.resolve({ 'x-api-key': second }, '::1') as Principal).apiKeyId === 'key_two');
  t.match(resolver.resolve({ 'x-api-key': KEY }, '::1'), { authError: 'unknown_key' }, 'removed key is gone');

  writeFileSync(file, '- id: key_bad\n  sha256: not-a-digest\n  organizationId: org_x\n');
  await eventually(() => log.text().includes('keys file rejected'));
  const error = log.lines().find((l) => l.msg === 'keys file rejected, keeping the previous registry')!;
  t.match(error.problem, /0\.sha256: must be a SHA-256 hex digest/);
  t.equal(error.level, 50, 'logged as an error');
  t.match(resolver.resolve({ 'x-api-key': second }, '::1'), { apiKeyId: 'key_two' }, 'previous registry kept');

  writeFileSync(file, 'keys: [unclosed');
  await eventually(() => log.text().includes('not valid YAML'));
  t.match(resolver.resolve({ 'x-api-key': second }, '::1'), { apiKeyId: 'key_two' });
});

t.test('a broken or missing keys file at startup is a clear error', async (t) => {
  const dir = tempDir();
  const logger = capturingLogger().logger;
  t.throws(() => createPrincipalResolver(configWith({ keysFile: join(dir, 'absent.yaml') }), { logger, dataDir: dir }),
    /cannot read keys file .*absent\.yaml: ENOENT/);
  const file = join(dir, 'keys.json');
  writeFileSync(file, JSON.stringify({ keys: [{ id: 'k', sha256: digestOf(KEY) }] }));
  t.throws(() => createPrincipalResolver(configWith({ keysFile: file }), { logger, dataDir: dir }),
    /keys\.0\.organizationId/);
  t.ok(readFileSync(file, 'utf8').length > 0);
});

t.test('duplicate digests: the later entry wins, with a warning', async (t) => {
  const { resolver, log } = resolverFor({ keys: [entry, { ...entry, id: 'key_dup' }] });
  t.teardown(() => resolver.close());
  t.match(resolver.resolve({ 'x-api-key': KEY }, '::1'), { apiKeyId: 'key_dup' });
  t.ok(log.lines().some((l) => l.msg === 'key registry: duplicate digest, the later entry wins' && l.id === 'key_dup'));
});
