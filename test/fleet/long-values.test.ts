// Values too long for a PostgreSQL B-tree entry (2,704 bytes) are shipped by hash in the filter columns (key-value.ts):
// before, one 8,000-character path failed its batch at every retry and shipping stopped for the whole node. Rows an
// older release shipped with long values are moved to the hashes by migration 5.
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import pg from 'pg';
import { PostgresReader } from '../../src/fleet/postgres-reader.js';
import { dayOf, migrate, partitionName } from '../../src/fleet/schema.js';
import type { AuditFilter } from '../../src/store/store.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { encodeAll, testReader, testSink } from '../helpers/fleet.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { BASE_MS, makeRecord } from '../store/fixtures/helpers.js';

const DAY_MS = 86_400_000;
/** Random, so PostgreSQL cannot compress them under its B-tree limit. */
const noise = (chars: number) => randomBytes(chars).toString('base64url').slice(0, chars);
const LONG_ORG = `org-${noise(3_000)}`;
const LONG_PATH = `/p/${noise(8_000)}`;
const LONG_WORKSPACE = `ws-${noise(3_000)}`;
const CONTROL_USER = `\u0002user-${'u'.repeat(80)}`;

let postgres: TestPostgres;
t.before(async () => {
  postgres = await startTestPostgres();
});
t.teardown(() => postgres.close());


function records(): AuditRecord[] {
  return Array.from({ length: 8 }, (_, i) => ({
    ...makeRecord({
      ms: BASE_MS + i * 1_000,
      organizationId: i % 2 === 0 ? LONG_ORG : 'org-short',
      path: i % 4 === 0 ? LONG_PATH : '/short',
      workspaceId: i % 3 === 0 ? LONG_WORKSPACE : null,
      principalType: 'user',
      userId: i === 5 ? CONTROL_USER : 'u-1',
      apiKeyId: null,
    }),
    seq: i + 1,
  }));
}

const FILTERS: [string, AuditFilter][] = [
  ['long organization', { organizationId: LONG_ORG }],
  ['long path', { organizationId: LONG_ORG, path: LONG_PATH }],
  ['long workspace (the value rollup)', { organizationId: LONG_ORG, workspaceId: LONG_WORKSPACE }],
  ['a user starting with a control character', { organizationId: 'org-short', userId: CONTROL_USER }],
  ['long path, every organization', { path: LONG_PATH }],
];

async function expectFound(t: Test, reader: PostgresReader, all: AuditRecord[]): Promise<void> {
  for (const [name, filter] of FILTERS) {
    const expected = all.filter((r) => Object.entries(filter).every(([field, value]) => r[field as keyof AuditRecord] === value));
    t.ok(expected.length > 0, `${name}: the records hold matches`);
    const page = await reader.query(filter, { limit: 50, withTotal: true });
    t.same(page.items.map((r) => r.requestId).sort(), expected.map((r) => r.requestId).sort(), `${name}: every match`);
    t.equal(page.total, expected.length, `${name}: its total`);
  }
}

t.test('records with values over a B-tree entry are shipped and found by every filter', async (t) => {
  const url = await postgres.database();
  const sink = testSink(url);
  t.teardown(() => sink.close());
  await sink.prepare();
  const all = records();
  await sink.write(all, encodeAll(sink, all));
  const reader = testReader(t, url);
  await expectFound(t, reader, all);
  const [kept] = (await reader.query({ organizationId: LONG_ORG, path: LONG_PATH }, { limit: 1 })).items;
  t.equal(kept?.path, LONG_PATH, 'the record keeps the value whole');
});

t.test('migration 5 moves long values an older release shipped to their hashes', async (t) => {
  const url = await postgres.database();
  const client = new pg.Client(url);
  await client.connect();
  t.teardown(() => client.end());
  t.equal(await migrate(client, 4), 4);
  const day = dayOf(BASE_MS);
  await client.query(`CREATE TABLE ${partitionName(day)} PARTITION OF audit_records
    FOR VALUES FROM ('${new Date(day).toISOString()}') TO ('${new Date(day + DAY_MS).toISOString()}')`);
  await client.query(`CREATE TABLE ${partitionName(day).replace('audit_records', 'audit_value_buckets')} PARTITION OF audit_value_buckets
    FOR VALUES FROM ('${new Date(day).toISOString()}') TO ('${new Date(day + DAY_MS).toISOString()}')`);
  // Short enough for version 4's keys: 600-byte values.
  const old = records().map((r) => ({ ...r, organizationId: r.organizationId!.slice(0, 600), path: r.path.slice(0, 600), workspaceId: r.workspaceId?.slice(0, 600) ?? null }));
  for (const r of old) {
    await client.query(`INSERT INTO audit_records (id, created_at, node_id, seq, organization_id, request_id, user_id, status_code, method, path,
      principal_type, workspace_id, resource_type, action, client_ip, record) VALUES ($1, $2, 'v4', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    [r.id, r.createdAt, r.seq, r.organizationId, r.requestId, r.userId, r.statusCode, r.method, r.path, r.principalType, r.workspaceId,
      r.resourceType, r.action, r.clientIp, JSON.stringify(r)]);
  }
  const sink = testSink(url);
  t.teardown(() => sink.close());
  await sink.prepare();
  t.same((await client.query('SELECT max(version) AS v FROM audit_proxy_migrations')).rows, [{ v: 6 }]);
  const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_records
    WHERE octet_length(organization_id) > 256 OR octet_length(path) > 256 OR octet_length(workspace_id) > 256 OR user_id ~ '^[\\x01-\\x1f]'`);
  t.equal(rows[0]!.n, 0, 'no cell holds a value keys cannot');
  const reader = testReader(t, url);
  const longOrg = old[0]!.organizationId!;
  const shortened: AuditFilter[] = [{ organizationId: longOrg }, { organizationId: longOrg, path: old[0]!.path },
    { organizationId: longOrg, workspaceId: old[0]!.workspaceId! }, { organizationId: 'org-short', userId: CONTROL_USER }];
  for (const filter of shortened) {
    const expected = old.filter((r) => Object.entries(filter).every(([field, value]) => r[field as keyof AuditRecord] === value));
    const page = await reader.query(filter, { limit: 50, withTotal: true });
    t.same(page.items.map((r) => r.requestId).sort(), expected.map((r) => r.requestId).sort(), `${Object.keys(filter).join(' + ')}: every match`);
    t.equal(page.total, expected.length, `${Object.keys(filter).join(' + ')}: its total`);
  }
});
