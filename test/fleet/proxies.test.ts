import t, { type Test } from 'tap';
import pg from 'pg';
import { request } from 'undici';
import { KEY, keyEntries } from '../api/fixtures/audit.js';
import { eventually } from '../helpers/eventually.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { TestUpstream } from '../helpers/upstream.js';

let postgres: TestPostgres;
let upstream: TestUpstream;
t.before(async () => {
  postgres = await startTestPostgres();
  upstream = await new TestUpstream().start();
});
t.teardown(async () => {
  await upstream.stop();
  await postgres.close();
});

async function fleetProxy(t: Test, url: string, nodeId: string): Promise<TestProxy> {
  const proxy = await startTestProxy(upstream.url, {
    auth: { keys: keyEntries },
    fleet: { postgres: { url }, nodeId, idleMs: 10, retryMinMs: 20, retryMaxMs: 200, retentionDays: 0, degradedAfterMs: 0 },
  });
  t.teardown(() => proxy.close());
  return proxy;
}

async function get(proxy: TestProxy, path: string, key: string = KEY.admin): Promise<{ status: number; body: any; text: string }> {
  const res = await request(`${proxy.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  const text = await res.body.text();
  return { status: res.statusCode, text, body: res.headers['content-type']?.toString().startsWith('application/json') ? JSON.parse(text) : null };
}

async function traffic(proxy: TestProxy, count: number, key: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await request(`${proxy.url}/items/${i}`, { headers: { authorization: `Bearer ${key}` } });
    await res.body.dump();
    statuses.push(res.statusCode);
  }
  return statuses;
}

async function orgTotal(proxy: TestProxy, org: string): Promise<number> {
  const answer = await get(proxy, `/v1/audit-logs?organisation_id=${org}&page_size=0`);
  return answer.status === 200 ? answer.body.total : -1;
}

async function rows(url: string, org: string): Promise<{ n: number; ids: number; nodes: string[] }> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    const { rows } = await client.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids, array_agg(DISTINCT node_id ORDER BY node_id) AS nodes FROM audit_records WHERE organization_id = $1', [org]);
    return rows[0];
  } finally {
    await client.end();
  }
}

t.test('two proxies, one PostgreSQL: either proxy answers for all the traffic', async (t) => {
  const url = await postgres.database();
  const [a, b] = [await fleetProxy(t, url, 'node-a'), await fleetProxy(t, url, 'node-b')];
  const statuses = [...await traffic(a, 30, KEY.aPlain), ...await traffic(b, 20, KEY.aPlain), ...await traffic(b, 5, KEY.bPlain)];
  t.ok(statuses.every((status) => status === 200));
  await eventually(async () => (await orgTotal(a, 'org-a')) === 50 && (await orgTotal(b, 'org-b')) === 5, 15_000);
  for (const proxy of [a, b]) {
    t.equal(await orgTotal(proxy, 'org-a'), 50, 'the audit-logs total counts both proxies');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(proxy, `/v1/api-keys/requests?organizationId=org-a&limit=15${cursor ? `&cursor=${cursor}` : ''}`);
      t.equal(page.status, 200);
      seen.push(...page.body.data.items.map((item: { id: string; organizationId: string }) => item.id));
      t.ok(page.body.data.items.every((item: { organizationId: string }) => item.organizationId === 'org-a'), 'only the organization asked for');
      cursor = page.body.data.nextCursor;
    } while (cursor);
    t.equal(seen.length, 50);
    t.equal(new Set(seen).size, 50, 'cursor pages neither repeat nor skip');
    const exported = await get(proxy, '/v1/audit-logs/export?organisation_id=org-a', KEY.admin);
    t.equal(exported.text.trim().split('\n').length, 50, 'the export reads the whole fleet');
  }
  t.same(await rows(url, 'org-a'), { n: 50, ids: 50, nodes: ['node-a', 'node-b'] }, 'each record once, named by the proxy that carried it');
  // A reader of org-a (whose reads are recorded in org-a, so they come last).
  const own = await get(b, '/v1/api-keys/requests?limit=100', KEY.aReader);
  t.ok(own.body.data.items.length >= 50 && own.body.data.items.every((item: { organizationId: string }) => item.organizationId === 'org-a'), 'confined to the reader\'s organization');
  t.equal((await get(a, '/v1/api-keys/requests?organizationId=org-b', KEY.aReader)).status, 403, 'other organizations are refused');
  t.equal((await get(a, '/v1/api-keys/requests?cursor=abc', KEY.aReader)).status, 400, 'the same errors');
});

t.test('PostgreSQL stopped mid-traffic: every request answered, every record arrives once', async (t) => {
  const server = await startTestPostgres();
  t.teardown(() => server.close());
  const url = await server.database();
  const proxy = await fleetProxy(t, url, 'node-c');
  const before = await traffic(proxy, 20, KEY.aPlain);
  await server.stop();
  const during = await traffic(proxy, 30, KEY.aPlain);
  t.ok([...before, ...during].every((status) => status === 200), 'proxied traffic never waits on PostgreSQL');
  const ready = await eventually(async () => {
    const answer = await get(proxy, '/readyz');
    return answer.body.degraded ? answer : null;
  }) as { status: number; body: any };
  t.equal(ready.status, 200, 'still ready: the proxy serves');
  t.match(ready.body.degraded[0], /^fleet sink degraded/);
  const unavailable = await get(proxy, '/v1/audit-logs', KEY.admin);
  t.equal(unavailable.status, 503, 'reads say the fleet store is away');
  t.match(unavailable.body.message, /fleet audit store \(PostgreSQL\) cannot answer/);
  const metrics = (await get(proxy, '/metrics')).text;
  t.match(metrics, /audit_proxy_fleet_lag_records [1-9]/);
  t.match(metrics, /audit_proxy_fleet_failures_total [1-9]/);
  t.match(metrics, /audit_proxy_fleet_degraded 1/);
  await server.start();
  await eventually(async () => (await rows(url, 'org-a')).n >= 50, 20_000);
  await eventually(async () => (await get(proxy, '/readyz')).body.degraded === undefined, 10_000);
  t.same(await rows(url, 'org-a'), { n: 50, ids: 50, nodes: ['node-c'] }, 'all 50, none twice');
  t.equal(await orgTotal(proxy, 'org-a'), 50);
  t.equal(proxy.logs.filter((line) => line.includes('fleet sink degraded')).length, 1, 'one log line per change of state');
  t.notMatch(proxy.logs.join(''), /audit-test-password/, 'no password in any log line');
});
