import t from 'tap';
import { eventually } from '../helpers/eventually.js';
import { MINUTE_MS } from '../../src/store/stats-rollup.js';
import { makeRecord } from '../store/fixtures/helpers.js';
import { KEY, ORG_A_TOTAL, TRAFFIC, contractGet, type ContractGet, sendTraffic, startFixture, type Answer, type Fixture } from './fixtures/audit.js';

const PATH = '/v1/audit-logs/stats';

let f: Fixture;
let get: ContractGet;
let trafficFrom: string;

t.before(async () => {
  f = await startFixture();
  trafficFrom = new Date(Date.now() - 1_000).toISOString();
  await sendTraffic(f);
  get = await contractGet(f);
});
t.teardown(() => f.close());

function stats(query: string, key: string = KEY.admin): Promise<Answer> {
  return get(PATH, query, key);
}

interface Bucket { start: string; count: number; status: Record<string, number>; durationMs: Record<string, number> | null }

function sum(buckets: Bucket[], pick: (b: Bucket) => number): number {
  return buckets.reduce((total, b) => total + pick(b), 0);
}

t.test('counts by status class and duration percentiles over recorded traffic (scanned: before the rollup began)', async (t) => {
  const answer = await stats(`organizationId=org-a&from=${trafficFrom}&bucket=1m`);
  t.equal(answer.status, 200);
  const { data } = answer.body;
  t.equal(data.bucketMs, MINUTE_MS);
  t.equal(data.complete, true);
  t.match(data.source, /scan/);
  t.equal(sum(data.buckets, (b) => b.count), ORG_A_TOTAL);
  t.equal(sum(data.buckets, (b) => b.status['4xx']!), TRAFFIC.aNotFound);
  t.equal(sum(data.buckets, (b) => b.status['2xx']!), ORG_A_TOTAL - TRAFFIC.aNotFound);
  const busy = data.buckets.filter((b: Bucket) => b.count > 0);
  for (const b of busy) t.ok(b.durationMs!.p50 <= b.durationMs!.p95 && b.durationMs!.p95 <= b.durationMs!.p99, 'p50 <= p95 <= p99');
  t.ok(data.buckets.filter((b: Bucket) => b.count === 0).every((b: Bucket) => b.durationMs === null), 'no percentiles without requests');
});

t.test('filters the rollup does not keep are scanned: method, status class, principal, route', async (t) => {
  const count = async (query: string) => sum((await stats(`organizationId=org-a&from=${trafficFrom}&${query}`)).body.data.buckets, (b) => b.count);
  t.equal(await count('method=POST'), TRAFFIC.aService);
  t.equal(await count('statusClass=4xx'), TRAFFIC.aNotFound);
  t.equal(await count('statusCode=404'), TRAFFIC.aNotFound);
  t.equal(await count('serviceAccountId=sa-a1'), TRAFFIC.aService);
  t.equal(await count('routePattern=/status'), TRAFFIC.aNotFound);
  t.equal((await stats(`organizationId=org-a&from=${trafficFrom}&method=POST`)).body.data.source, 'scan');
});

t.test('whole minutes come from the rollup, the partial minutes at either end from a scan, with the same answer', async (t) => {
  const store = f.proxy.services.store!;
  const since = store.statsRollup!.sinceMs();
  t.ok(Number.isFinite(since), 'the rollup counts from the minute after the store opened');
  const hour = 60 * MINUTE_MS;
  const start = Math.ceil((since + hour) / hour) * hour; // records in the future: nothing else lands there
  const made = [];
  for (let i = 0; i < 120; i++) {
    made.push(makeRecord({ ms: start + i * 20_000 + 7, organizationId: 'org-r', statusCode: [200, 201, 302, 404, 500, 0][i % 6]!, durationMs: 1 + i }));
  }
  for (const record of made) store.append(record);
  await store.flush();
  const iso = (ms: number) => new Date(ms).toISOString();
  const aligned = await stats(`organizationId=org-r&from=${iso(start)}&to=${iso(start + 40 * MINUTE_MS - 1)}&bucket=5m`);
  t.equal(aligned.body.data.source, 'rollup');
  t.equal(aligned.body.data.buckets.length, 8);
  t.same(aligned.body.data.buckets.map((b: Bucket) => b.count), [15, 15, 15, 15, 15, 15, 15, 15]);
  t.same(aligned.body.data.buckets[0].status, { none: 2, '1xx': 0, '2xx': 6, '3xx': 3, '4xx': 2, '5xx': 2 });
  const ragged = await stats(`organizationId=org-r&from=${iso(start + 30_000)}&to=${iso(start + 10 * MINUTE_MS + 30_000)}&bucket=1m`);
  t.equal(ragged.body.data.source, 'rollup+scan');
  const expected = made.filter((r) => Date.parse(r.createdAt) >= start + 30_000 && Date.parse(r.createdAt) <= start + 10 * MINUTE_MS + 30_000);
  t.equal(sum(ragged.body.data.buckets, (b) => b.count), expected.length);
  const scanned = await stats(`organizationId=org-r&from=${iso(start)}&to=${iso(start + 40 * MINUTE_MS - 1)}&bucket=5m&statusClass=2xx`);
  t.equal(scanned.body.data.source, 'scan');
  t.same(scanned.body.data.buckets.map((b: Bucket) => b.count), [6, 4, 6, 4, 6, 4, 6, 4]);
  const everyone = await stats(`from=${iso(start)}&to=${iso(start + 40 * MINUTE_MS - 1)}&bucket=1h`);
  t.equal(sum(everyone.body.data.buckets, (b) => b.count), 120, 'audit:read:all without organizationId sums every organization');
});

t.test('a default range of 24 h with an automatic bucket', async (t) => {
  const answer = await stats('', KEY.aReader);
  t.equal(answer.status, 200);
  t.equal(answer.body.data.bucketMs, 15 * MINUTE_MS);
  t.ok(answer.body.data.buckets.length <= 120 && answer.body.data.buckets.length >= 96);
  t.ok(sum(answer.body.data.buckets, (b) => b.count) >= ORG_A_TOTAL, 'the reader\'s own organization');
});

t.test('same access rules and organization confinement as the other audit reads', async (t) => {
  t.equal((await stats('', 'ak_unknown_key_000000000000000001')).status, 401);
  t.equal((await stats('', KEY.aPlain)).status, 403);
  t.equal((await stats('organizationId=org-a', KEY.bReader)).status, 403);
  // The refused read is recorded once its answer has gone out: wait for it in the store, not through the endpoint
  // (whose reads are recorded too).
  const store = f.proxy.services.store!;
  await eventually(async () => {
    await store.flush();
    const { total } = await store.query({ organizationId: 'org-b', fromMs: Date.parse(trafficFrom) }, { limit: 1, withTotal: true });
    return total === TRAFFIC.bPlain + 1;
  });
  const own = await stats(`from=${trafficFrom}`, KEY.bReader);
  t.equal(sum(own.body.data.buckets, (b) => b.count), TRAFFIC.bPlain + 1, 'org-b\'s traffic and its own earlier read');
});

t.test('bad parameters are 400s naming the problem', async (t) => {
  t.match((await stats('bucket=30s')).body.message, /bucket must be a whole number of minutes, hours or days/);
  t.match((await stats('bucket=0m')).body.message, /bucket must be/);
  t.match((await stats('from=2020-01-01&bucket=1m')).body.message, /bucket is too small for this range: \d+ buckets, at most 1440/);
  t.match((await stats('from=2026-01-02&to=2026-01-01')).body.message, /to must not be before from/);
  t.equal((await f.get(PATH, KEY.admin, 'POST')).status, 405);
});
