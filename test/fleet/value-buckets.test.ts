import t from 'tap';
import pg from 'pg';
import { dayOf, migrate, partitionName } from '../../src/fleet/schema.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { collect } from '../helpers/collect.js';
import { encodeAll, testReader, testSink } from '../helpers/fleet.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { BASE_MS, ids, makeRecord } from '../store/fixtures/helpers.js';

const DAY_MS = 86_400_000;
const BUCKET_MS = 3_600_000;

let postgres: TestPostgres;
t.before(async () => {
  postgres = await startTestPostgres();
});
t.teardown(() => postgres.close());


/** What the rollup must hold: the records' rows grouped by organization, column, value and 10-minute bucket. */
const RECOUNT = `SELECT organization_id, f.field, f.value, date_bin('10 minutes', created_at, '2000-01-01T00:00:00Z') AS bucket, count(*)::int AS rows,
    min(created_at) AS first_at, max(created_at) AS last_at
  FROM audit_records CROSS JOIN LATERAL (VALUES ('method', method), ('principal_type', principal_type),
    ('resource_type', resource_type), ('action', action), ('country', country), ('status_code', status_code::text),
    ('workspace_id', workspace_id), ('resource_type+action', octet_length(resource_type) || ':' || resource_type || action)) AS f(field, value)
  WHERE f.value IS NOT NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`;
const ROLLUP = `SELECT organization_id, field, value, bucket, rows::int AS rows, first_at, last_at FROM audit_value_buckets ORDER BY 1, 2, 3, 4`;

t.test('migration 4 on a database written at version 3: the rollup counts its rows once, under the lock, and then every insert', async (t) => {
  const url = await postgres.database();
  const client = new pg.Client(url);
  await client.connect();
  t.teardown(() => client.end());
  t.equal(await migrate(client, 3), 3);
  const days = [dayOf(BASE_MS), dayOf(BASE_MS) + DAY_MS];
  for (const day of days) {
    await client.query(`CREATE TABLE ${partitionName(day)} PARTITION OF audit_records
      FOR VALUES FROM ('${new Date(day).toISOString()}') TO ('${new Date(day + DAY_MS).toISOString()}')`);
  }
  const old = Array.from({ length: 40 }, (_, i) => ({
    ...makeRecord({ ms: BASE_MS + i * 50 * 60_000, organizationId: i % 2 ? 'org-a' : 'org-b', method: i % 9 === 0 ? 'DELETE' : 'GET', country: i % 3 ? 'NL' : null }),
    seq: i + 1,
  }));
  for (const r of old) {
    await client.query(`INSERT INTO audit_records (id, created_at, node_id, seq, organization_id, request_id, status_code, method, path,
      principal_type, resource_type, action, client_ip, country, record) VALUES ($1, $2, 'v3', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [r.id, r.createdAt, r.seq, r.organizationId, r.requestId, r.statusCode, r.method, r.path, r.principalType, r.resourceType, r.action, r.clientIp,
      r.country, JSON.stringify(r)]);
  }
  const sinks = [testSink(url), testSink(url)];
  t.teardown(() => Promise.all(sinks.map((sink) => sink.close())));
  await Promise.all(sinks.map((sink) => sink.prepare()));
  t.same((await client.query('SELECT max(version) AS v FROM audit_proxy_migrations')).rows, [{ v: 6 }]);
  t.same((await client.query(ROLLUP)).rows, (await client.query(RECOUNT)).rows, 'the rows already there, counted once');
  const { rows: parts } = await client.query<{ name: string }>(
    "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_value_buckets'::regclass");
  t.ok(days.every((day) => parts.some((p) => p.name === partitionName(day).replace('audit_records', 'audit_value_buckets'))), 'a rollup partition per day');

  const fresh = Array.from({ length: 10 }, (_, i) => ({ ...makeRecord({ ms: BASE_MS + i * 7 * 60_000 + 1, organizationId: 'org-a', method: 'PUT' }), seq: 100 + i }));
  const resent = [...old.slice(0, 5), ...fresh];
  await sinks[0]!.write(resent, encodeAll(sinks[0]!, resent));
  await sinks[1]!.write(resent, encodeAll(sinks[1]!, resent));
  t.same((await client.query(ROLLUP)).rows, (await client.query(RECOUNT)).rows, 'inserted rows counted, rows skipped ON CONFLICT not');

  const reader = testReader(t, url);
  const all = [...old, ...fresh];
  for (const filter of [{ organizationId: 'org-a', method: 'PUT' }, { organizationId: 'org-b', method: 'DELETE' }, { organizationId: 'org-a', country: 'NL' }]) {
    const want = ids(all.filter((r) => r.organizationId === filter.organizationId && (filter.method ? r.method === filter.method : r.country === filter.country))
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : -1)));
    const page = await reader.query(filter, { limit: 100, withTotal: true });
    t.same(ids(page.items), want, `items for ${JSON.stringify(filter)}`);
    t.equal(page.total, want.length, `total for ${JSON.stringify(filter)}`);
  }
});

t.test('a value in more buckets than one rollup lookup reads is walked through every one of them', async (t) => {
  const url = await postgres.database();
  const sink = testSink(url);
  t.teardown(() => sink.close());
  await sink.prepare();
  const records: AuditRecord[] = Array.from({ length: 1_300 }, (_, i) => ({
    ...makeRecord({ ms: BASE_MS - 60 * DAY_MS + i * BUCKET_MS + 5, organizationId: 'org-h', method: i % 2 ? 'DELETE' : 'GET' }),
    seq: i + 1,
  }));
  await sink.write(records, encodeAll(sink, records));
  const reader = testReader(t, url);
  const deletes = ids(records.filter((r) => r.method === 'DELETE').reverse());
  t.same(ids(await collect(reader.iterate({ organizationId: 'org-h', method: 'DELETE' }))), deletes, '650 hours, newest first');
  const long = await reader.query({ organizationId: 'org-h', method: 'DELETE' }, { limit: 600, withTotal: true });
  t.same(ids(long.items), deletes.slice(0, 600), 'a page longer than one lookup of buckets');
  t.equal(long.total, 650);
  const bounded = await reader.query({ organizationId: 'org-h', method: 'DELETE', fromMs: Date.parse(records[1_200]!.createdAt) }, { limit: 100 });
  t.same(ids(bounded.items), deletes.slice(0, 50), 'from an hour on');
});

t.test('resource type + action is counted as one value: exact totals and pages, however the values split', async (t) => {
  const url = await postgres.database();
  const sink = testSink(url);
  t.teardown(() => sink.close());
  await sink.prepare();
  // ('ab', 'c') and ('a', 'bc') join to the same text: the pair's value must tell them apart.
  const pairs = [['ab', 'c'], ['a', 'bc'], ['item', 'read'], ['item', 'write'], ['user', 'read']] as const;
  const records: AuditRecord[] = Array.from({ length: 300 }, (_, i) => ({
    ...makeRecord({ ms: BASE_MS + i * 4_000, organizationId: i % 3 ? 'org-p' : 'org-q', resourceType: pairs[i % 5]![0], action: pairs[(i * 7) % 5]![1] }),
    seq: i + 1,
  }));
  await sink.write(records, encodeAll(sink, records));
  const client = new pg.Client(url);
  await client.connect();
  t.teardown(() => client.end());
  t.same((await client.query(ROLLUP)).rows, (await client.query(RECOUNT)).rows, 'the rollup holds the pairs, counted exactly');
  const reader = testReader(t, url);
  for (const organizationId of ['org-p', 'org-q']) {
    for (const [resourceType, action] of [...pairs, ['a', 'c'] as const]) {
      const filter = { organizationId, resourceType, action };
      const want = ids(records.filter((r) => r.organizationId === organizationId && r.resourceType === resourceType && r.action === action).reverse());
      const page = await reader.query(filter, { limit: 20, withTotal: true });
      t.same(ids(page.items), want.slice(0, 20), `${organizationId} ${resourceType} + ${action}: page`);
      t.equal(page.total, want.length, `${organizationId} ${resourceType} + ${action}: total`);
    }
  }
});
