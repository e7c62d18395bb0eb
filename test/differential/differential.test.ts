// Issue 10: the record is the truth. Raw HTTP/1.1 requests drawn from a grammar (credential headers in every
// combination, dot segments and percent-encodings, absolute-form targets, upgrades, bodies, clients vanishing at
// random points) go through the real proxy, with a real LMDB store, to a witness upstream; after each batch every
// request id is checked against the invariant (fixtures/invariant.ts). `npm test` runs a fixed seed; `npm run fuzz` runs
// longer with a random seed (FUZZ_SEED and FUZZ_RUNS set them) and the failure names the seed to replay.
import t from 'tap';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { sha256 } from '../../src/principal/digest.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { play, render, requestSpec, type Observed, type RawRequestSpec } from './fixtures/grammar.js';
import { violations, type Knowns } from './fixtures/invariant.js';
import { Witness } from './fixtures/witness.js';

const KEY_A = 'dk_live_differential_key_a_001';
const KEY_B = 'dk_live_differential_key_b_002';
const JWT_SECRET = 'differential-test-secret-0123456789abcdef';
const EXCLUDED_PREFIX = '/v1/ping/';
const seed = Number(process.env.FUZZ_SEED ?? (process.env.FUZZ_RUNS ? Date.now() % 2 ** 31 : 20261123));
const numRuns = Number(process.env.FUZZ_RUNS ?? 12);

const knowns: Knowns = {
  keys: new Map([[KEY_A, 'key-a'], [KEY_B, 'key-b']]),
  jwtUser: 'user-j',
  isValidJwt: (token) => token.split('.').length === 3 && !token.endsWith('.bad'),
};

let witness: Witness;
let tokens: string[] = [];
let batch = 0;

t.before(async () => {
  witness = await new Witness().start();
  const secret = new TextEncoder().encode(JWT_SECRET);
  tokens = await Promise.all(Array.from({ length: 4000 }, (_, i) =>
    new SignJWT({ sub: 'user-j', org_id: 'org-j', jti: String(i) }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(secret)));
});
t.teardown(() => witness.stop());

async function startProxy(enforce: boolean): Promise<TestProxy> {
  return startTestProxy(witness.url, {
    log: { requests: false },
    capture: { exclude: [`${EXCLUDED_PREFIX}*`] },
    auth: {
      enforce,
      jwt: { secret: JWT_SECRET, cacheTtlMs: 0 },
      keys: [
        { id: 'key-a', sha256: sha256(KEY_A).toString('hex'), organizationId: 'org-a' },
        { id: 'key-b', sha256: sha256(KEY_B).toString('hex'), organizationId: 'org-b' },
      ],
    },
  });
}

/** Waits until the proxy has nothing in flight and every record is committed. */
async function settle(proxy: TestProxy): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (proxy.services.pipeline.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 150)); // tunnels and vanished clients finish on their socket's close
  await proxy.services.store!.flush();
}

async function runBatch(proxy: TestProxy, specs: RawRequestSpec[]): Promise<string[]> {
  const ids = specs.map(() => `diff-${++batch}-${Math.random().toString(36).slice(2, 10)}`);
  const secrets = { keyA: KEY_A, keyB: KEY_B, jwt: () => tokens.pop() ?? tokens[0]! };
  const observed: Observed[] = await Promise.all(specs.map((spec, i) => play(proxy.port, spec, render(spec, ids[i]!, secrets))));
  await settle(proxy);
  const problems: string[] = [];
  for (const [i, id] of ids.entries()) {
    const { items } = await proxy.services.store!.query({ requestId: id }, { limit: 10 });
    const found = violations(witness.arrivalsOf(id), items, observed[i]!, knowns, (p) => p.startsWith(EXCLUDED_PREFIX));
    if (found.length) problems.push(`${JSON.stringify(specs[i])}: ${found.join('; ')}`);
  }
  if (witness.anonymousArrivals().length) problems.push('a request reached the upstream without the proxy\'s request id');
  return problems;
}

for (const enforce of [false, true]) {
  t.test(`what reached the upstream is what was recorded (auth.enforce ${enforce}, seed ${seed})`, async (t) => {
    const proxy = await startProxy(enforce);
    t.teardown(() => proxy.close());
    let checked = 0;
    await fc.assert(fc.asyncProperty(fc.array(requestSpec, { minLength: 1, maxLength: 10 }), async (specs) => {
      const problems = await runBatch(proxy, specs);
      checked += specs.length;
      if (problems.length) throw new Error(problems.join('\n'));
    }), { seed, numRuns, endOnFailure: true });
    t.ok(checked > 0, `${checked} requests, each compared between the witness and the store`);
    const health = await fetch(`${proxy.url}/healthz`);
    t.equal(health.status, 200, 'the proxy lives on');
  });
}
