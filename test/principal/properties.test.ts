import t from 'tap';
import fc from 'fast-check';
import type { Principal } from '../../src/principal/principal.js';
import { digestOf, resolverFor } from './fixtures/helpers.js';

const SECRET = 'property-test-shared-secret-0123456789';
const headerValue = fc.oneof(
  fc.string({ minLength: 1, maxLength: 80 }),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,20}\.[A-Za-z0-9_-]{1,20}\.[A-Za-z0-9_-]{0,20}$/),
  fc.array(fc.string({ minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 3 }),
);
const headerName = fc.constantFrom('authorization', 'x-api-key', 'x-portkey-api-key', 'x-custom', 'x-auth-request-user');

/** Every string value of the headers, trimmed and bearer-stripped, that is long enough to be a meaningful leak. */
function presented(headers: Record<string, string | string[]>): string[] {
  return Object.values(headers).flat().map((v) => v.replace(/^bearer\s+/i, '').trim()).filter((v) => v.length >= 6);
}

t.test('random header values never throw and never leak into the principal', async (t) => {
  const { resolver } = resolverFor({
    apiKeyHeaders: ['x-custom'],
    keys: [{ id: 'key_p', sha256: digestOf('ak_known_key'), organizationId: 'o' }],
    jwt: { secret: SECRET },
  });
  t.teardown(() => resolver.close());
  let checked = 0;
  await fc.assert(fc.asyncProperty(
    fc.dictionary(headerName, headerValue, { maxKeys: 4 }),
    fc.constantFrom('127.0.0.1', '::1', 'not-an-ip', ''),
    async (headers, peer) => {
      const principal: Principal = await resolver.resolve(headers, peer);
      const json = JSON.stringify(principal);
      for (const value of presented(headers)) {
        if (principal.authScheme !== 'identity_header' && json.includes(value)) return false;
      }
      checked += 1;
      return typeof principal.principalType === 'string';
    },
  ), { seed: 20250101, numRuns: 400 });
  t.equal(checked, 400, 'every run resolved without throwing');
});

t.test('any unknown key maps to a fingerprint that is stable and free of the key', async (t) => {
  const { resolver } = resolverFor({});
  t.teardown(() => resolver.close());
  fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 64 }).filter((s) => /\S/.test(s) && !/[\r\n]/.test(s)), (key) => {
    const a = resolver.resolve({ 'x-api-key': key }, '::1') as Principal;
    const b = resolver.resolve({ 'x-api-key': key }, '::1') as Principal;
    return a.apiKeyId === b.apiKeyId && /^fp_[0-9a-f]{16}$/.test(a.apiKeyId!) && (key.trim().length < 8 || !a.apiKeyId!.includes(key.trim()));
  }), { seed: 42, numRuns: 300 });
  t.pass('300 keys checked');
});
