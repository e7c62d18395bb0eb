import t from 'tap';
import { keyValue } from '../../src/audit/key-value.js';
import pg from 'pg';
import { PostgresSink } from '../../src/fleet/postgres-sink.js';
import { PostgresReader } from '../../src/fleet/postgres-reader.js';
import { dayOf, migrate, partitionName } from '../../src/fleet/schema.js';
import { encodeAll } from '../helpers/fleet.js';
import { endPool, startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { BASE_MS, capturingLogger, makeRecord } from '../store/fixtures/helpers.js';

let postgres: TestPostgres;
t.before(async () => {
  postgres = await startTestPostgres();
});
t.teardown(() => postgres.close());

async function connected(url: string): Promise<pg.Client> {
  const client = new pg.Client(url);
  await client.connect();
  return client;
}

function sinkFor(url: string): PostgresSink {
  return new PostgresSink({ connection: { connectionString: url }, nodeId: 'node-é\t1', partitionsAheadDays: 1, retentionDays: 0 }, capturingLogger().logger);
}

t.test('binary COPY stores text, numbers, times, nulls and stored bytes exactly', async (t) => {
  const url = await postgres.database();
  const sink = sinkFor(url);
  t.teardown(() => sink.close());
  await sink.prepare();
  const odd = { ...makeRecord({ ms: Date.parse('1999-12-31T23:59:59.999Z'), path: '/a\tb\\c\nd\r/é/😀', userId: 'u\\1\u0000', country: null }), seq: 2 ** 40 + 7, statusCode: 599 };
  const plain = { ...makeRecord({ ms: BASE_MS + 1 }), seq: 3 };
  const stored = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) % 256);
  const batch = sink.newBatch();
  batch.add(odd, stored);
  batch.add(plain, undefined);
  await sink.write([odd, plain], batch);
  const client = await connected(url);
  t.teardown(() => client.end());
  const { rows } = await client.query(`SELECT id, created_at, node_id, seq::text AS seq, path, user_id, country, status_code, method, record, stored
    FROM audit_records ORDER BY created_at`);
  t.equal(rows.length, 2);
  t.same(rows[0], {
    id: odd.id, created_at: new Date(odd.createdAt), node_id: 'node-é\t1', seq: String(2 ** 40 + 7), path: '/a\tb\\c\nd\r/é/😀',
    user_id: keyValue(odd.userId!), country: null, status_code: 599, method: 'GET', record: JSON.parse(JSON.stringify(odd)), stored: Buffer.from(stored),
  }, 'a time before 2000 (negative microseconds), a seq past 32 bits, escapes, a value holding NUL by hash in its column, exact json');
  t.equal(rows[1].stored, null, 'a record without stored bytes stores NULL');
  t.equal(rows[1].seq, '3');
});

t.test('a batch truncated back to a size sends only the records before it', async (t) => {
  const url = await postgres.database();
  const sink = sinkFor(url);
  t.teardown(() => sink.close());
  await sink.prepare();
  const kept = { ...makeRecord(), seq: 1 };
  const batch = sink.newBatch();
  batch.add(kept, undefined);
  const size = batch.size;
  batch.add({ ...makeRecord({ requestBody: 'x'.repeat(3_000_000) }), seq: 2 }, Buffer.alloc(2_000_000));
  t.ok(batch.size > size + 5_000_000, 'the buffer grew past its first megabyte');
  batch.truncate(size);
  t.equal(batch.size, size);
  await sink.write([kept], batch);
  const client = await connected(url);
  t.teardown(() => client.end());
  t.same((await client.query('SELECT id FROM audit_records')).rows, [{ id: kept.id }]);
});

t.test('migration 3 upgrades a database written at version 2: rows kept, narrower keys, pages and idempotency unchanged', async (t) => {
  const url = await postgres.database();
  const client = await connected(url);
  t.teardown(() => client.end());
  t.equal(await migrate(client, 2), 2);
  const old = Array.from({ length: 30 }, (_, i) => ({ ...makeRecord({ ms: BASE_MS + i * 1000, organizationId: 'org-m', apiKeyId: `key-${i % 3}` }), seq: i + 1 }));
  await client.query(`CREATE TABLE ${partitionName(dayOf(BASE_MS))} PARTITION OF audit_records FOR VALUES FROM ('${new Date(dayOf(BASE_MS)).toISOString()}') TO ('${new Date(dayOf(BASE_MS) + 86_400_000).toISOString()}')`);
  for (const record of old) {
    await client.query(`INSERT INTO audit_records (id, created_at, node_id, seq, organization_id, request_id, api_key_id, status_code, method, path,
      principal_type, resource_type, action, client_ip, record) VALUES ($1, $2, 'v2', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [record.id, record.createdAt, record.seq, record.organizationId, record.requestId, record.apiKeyId, record.statusCode, record.method, record.path,
      record.principalType, record.resourceType, record.action, record.clientIp, JSON.stringify(record)]);
  }
  const sink = sinkFor(url);
  t.teardown(() => sink.close());
  await sink.prepare();
  t.same((await client.query('SELECT max(version) AS v FROM audit_proxy_migrations')).rows, [{ v: 6 }]);
  const { rows: keys } = await client.query<{ def: string }>("SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = 'audit_records'::regclass");
  const apiKeyIndex = keys.map((row) => row.def).find((def) => def.includes('(organization_id, api_key_id'));
  t.match(apiKeyIndex, /\(organization_id, api_key_id, created_at\) WHERE \(api_key_id IS NOT NULL\)/);
  t.equal(keys.length, 8, 'the primary key, the time key and six filter keys (migration 4 drops two)');
  await sink.write(old.slice(0, 10), encodeAll(sink, old.slice(0, 10)));
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  t.teardown(() => endPool(pool));
  const reader = new PostgresReader(pool);
  const first = await reader.query({ organizationId: 'org-m', apiKeyId: 'key-1' }, { limit: 4, withTotal: true });
  t.equal(first.total, 10, 'the re-sent rows added nothing');
  const second = await reader.query({ organizationId: 'org-m', apiKeyId: 'key-1' }, { limit: 10, cursor: first.nextCursor! });
  const expected = old.filter((record) => record.apiKeyId === 'key-1').reverse().map((record) => record.id);
  t.same([...first.items, ...second.items].map((record) => record.id), expected, 'newest first across the cursor, by the new key');
});
