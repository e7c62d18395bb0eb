import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import pg from 'pg';
import { PostgresSink } from '../../src/fleet/postgres-sink.js';
import { backoffMs } from '../../src/fleet/shipper.js';
import { dayOf, ensurePartitions, migrate, partitionName } from '../../src/fleet/schema.js';
import { encodeAll, openTestFleetStore } from '../helpers/fleet.js';
import { eventually } from '../helpers/eventually.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { BASE_MS, capturingLogger, makeRecord } from '../store/fixtures/helpers.js';

let postgres: TestPostgres;
t.before(async () => {
  postgres = await startTestPostgres();
});
t.teardown(() => postgres.close());

function sinkFor(url: string, retentionDays = 0, connections = 1): PostgresSink {
  return new PostgresSink({ connection: { connectionString: url }, nodeId: 'n1', partitionsAheadDays: 2, retentionDays, connections }, capturingLogger().logger);
}

async function sql<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

t.test('a batch shipped twice leaves one row each', async (t) => {
  const url = await postgres.database();
  const sink = sinkFor(url);
  t.teardown(() => sink.close());
  await sink.prepare();
  const batch = Array.from({ length: 50 }, (_, i) => ({ ...makeRecord({ ms: BASE_MS + i * 3_600_000 }), seq: i + 1 }));
  await sink.write(batch, encodeAll(sink, batch));
  await sink.write(batch, encodeAll(sink, batch));
  await sink.write(batch.slice(10, 20), encodeAll(sink, batch.slice(10, 20)));
  const rows = await sql<{ n: string; ids: string }>(url, 'SELECT count(*) AS n, count(DISTINCT id) AS ids FROM audit_records');
  t.same(rows[0], { n: '50', ids: '50' });
  const days = await sql<{ n: string }>(url, "SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'audit_records'::regclass");
  t.ok(Number(days[0]!.n) >= 3, 'the batch spans three days: one partition each, made on demand');
});

t.test('more writes at once than connections wait for one; each is stored whole', async (t) => {
  const url = await postgres.database();
  const sink = sinkFor(url, 0, 2);
  t.teardown(() => sink.close());
  t.equal(sink.parallel, 2);
  await sink.prepare();
  const batches = Array.from({ length: 5 }, (_, b) => Array.from({ length: 20 }, (_, i) => ({ ...makeRecord({ organizationId: 'org-wait' }), seq: b * 20 + i + 1 })));
  await Promise.all(batches.map((batch) => sink.write(batch, encodeAll(sink, batch))));
  const [row] = await sql<{ n: number; ids: number; connections: number }>(url, `SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids,
    (SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()) AS connections
    FROM audit_records WHERE organization_id = 'org-wait'`);
  t.same(row, { n: 100, ids: 100, connections: 2 }, 'five batches over two connections');
});

t.test('two proxies migrating at once both start, and the schema is applied once', async (t) => {
  const url = await postgres.database();
  const sinks = Array.from({ length: 4 }, () => sinkFor(url));
  t.teardown(() => Promise.all(sinks.map((sink) => sink.close())));
  await Promise.all(sinks.map((sink) => sink.prepare()));
  const versions = await sql<{ version: number }>(url, 'SELECT version FROM audit_proxy_migrations ORDER BY version');
  t.same(versions.map((row) => row.version), [1, 2, 3, 4, 5, 6]);
  await Promise.all(sinks.map((sink, i) => sink.write([{ ...makeRecord(), seq: i + 1 }], encodeAll(sink, [{ ...makeRecord(), seq: i + 1 }]))));
  await sinks[0]!.prepare();
  t.same(await sql(url, 'SELECT count(*)::int AS n FROM audit_proxy_migrations'), [{ n: 6 }], 'a restart applies nothing again');
});

t.test('retention drops whole partitions past the horizon, never rows of younger days', async (t) => {
  const url = await postgres.database();
  const sink = sinkFor(url, 7);
  t.teardown(() => sink.close());
  await sink.prepare();
  const now = Date.parse('2026-11-20T12:00:00Z');
  const old = { ...makeRecord({ ms: now - 10 * 86_400_000 }), seq: 1 };
  const young = { ...makeRecord({ ms: now - 6 * 86_400_000 }), seq: 2 };
  await sink.write([old, young], encodeAll(sink, [old, young]));
  await sink.maintain(now);
  const left = await sql<{ id: string }>(url, 'SELECT id FROM audit_records');
  t.same(left.map((row) => row.id), [young.id]);
  const counted = await sql<{ bucket: Date; rows: string }>(url, "SELECT bucket, rows FROM audit_value_buckets WHERE field = 'method'");
  t.same(counted.map((row) => [row.bucket.getTime(), Number(row.rows)]), [[Math.floor(Date.parse(young.createdAt) / 600_000) * 600_000, 1]],
    'the rollup keeps only the younger day, dropped with its partition');
  const names = await sql<{ name: string }>(url, "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_records'::regclass ORDER BY 1");
  t.notOk(names.some((row) => row.name === 'audit_records_p20261110'), 'the old day is dropped');
  t.ok(names.some((row) => row.name === 'audit_records_p20261122'), 'the days ahead of the upkeep time are created');
});

t.test('a proxy whose clock runs ahead drops no partition PostgreSQL\'s clock says is young', async (t) => {
  const url = await postgres.database();
  const sink = sinkFor(url, 90);
  t.teardown(() => sink.close());
  await sink.prepare();
  const today = { ...makeRecord({ ms: Date.now() }), seq: 1 };
  await sink.write([today], encodeAll(sink, [today]));
  await sink.maintain(Date.now() + 100 * 86_400_000); // its hourly upkeep, 100 days ahead of the database
  t.same((await sql<{ id: string }>(url, 'SELECT id FROM audit_records')).map((row) => row.id), [today.id]);
});

t.test('a migration over more rows than the statement timeout allows still completes', async (t) => {
  const url = await postgres.database();
  const client = new pg.Client(url);
  await client.connect();
  t.teardown(() => client.end());
  await migrate(client, 5); // a database an older release made; migration 6 groups every row
  await ensurePartitions(client, [dayOf(Date.now())]);
  await client.query(`INSERT INTO audit_records (organization_id, created_at, id, node_id, seq, request_id, status_code, method, path,
    principal_type, resource_type, action, client_ip, record)
    SELECT 'org-' || (g % 50), now() - (g % 3600) * interval '1 second', 'id-' || g, 'old', g, 'r-' || g, 200, 'GET', '/p',
      'user', 'item', 'read', '192.0.2.1', '{}' FROM generate_series(1, 300000) g`);
  const sink = new PostgresSink({ connection: { connectionString: url, statement_timeout: 50 }, nodeId: 'n1', partitionsAheadDays: 1, retentionDays: 0, connections: 1 },
    capturingLogger().logger);
  t.teardown(() => sink.close());
  await sink.prepare();
  t.same(await sql(url, 'SELECT max(version)::int AS version FROM audit_proxy_migrations'), [{ version: 6 }]);
});

t.test('a day\'s partition created while a batch is being stored waits for it: no deadlock', async (t) => {
  const url = await postgres.database();
  const sink = sinkFor(url, 0, 2);
  t.teardown(() => sink.close());
  await sink.prepare();
  const locker = new pg.Client(url);
  await locker.connect();
  t.teardown(() => locker.end());
  await locker.query('BEGIN');
  await locker.query(`LOCK TABLE ${partitionName(dayOf(Date.now()))} IN ACCESS EXCLUSIVE MODE`);
  const today = [1, 2].map((seq) => ({ ...makeRecord({ ms: Date.now() }), seq }));
  const storing = sink.write(today, encodeAll(sink, today)); // copies into the records, then waits for today's partition
  await new Promise((resolve) => setTimeout(resolve, 300));
  const longAgo = [{ ...makeRecord({ ms: Date.parse('2001-01-01T00:00:00Z') }), seq: 3 }];
  const newDay = sink.write(longAgo, encodeAll(sink, longAgo)); // creates its day's partitions on the other connection
  await new Promise((resolve) => setTimeout(resolve, 300));
  await locker.query('COMMIT');
  const outcomes = await Promise.allSettled([storing, newDay]);
  t.same(outcomes.map((outcome) => outcome.status === 'rejected' ? String(outcome.reason) : 'stored'), ['stored', 'stored']);
});

t.test('batches are capped by rows and by bytes', async (t) => {
  const url = await postgres.database();
  const fleet = openTestFleetStore(t.testdir(), url, capturingLogger().logger, { batchRows: 7, batchBytes: 4096 });
  t.teardown(() => fleet.store.close());
  for (let i = 0; i < 20; i++) fleet.store.append(makeRecord({ organizationId: 'org-rows' }));
  await fleet.settle();
  const byRows = fleet.shipper!.shippedBatches;
  t.ok(byRows >= 3, '20 records at most 7 a batch');
  const big = 'x'.repeat(1500);
  for (let i = 0; i < 6; i++) fleet.store.append(makeRecord({ organizationId: 'org-bytes', requestBody: big }));
  await fleet.settle();
  t.ok(fleet.shipper!.shippedBatches >= byRows + 3, 'records of ~1.6 kB with a 4 kB cap go two or fewer a batch');
  t.equal(fleet.shipper!.shippedRecords, 26);
  const metrics = await fleet.registry.metrics();
  t.match(metrics, /audit_proxy_fleet_shipped_records_total 26/);
  t.match(metrics, /audit_proxy_fleet_lag_records 0/);
  t.match(metrics, /audit_proxy_fleet_delivery_seconds_count 26/);
});

t.test('a body stored apart in LMDB reaches PostgreSQL whole; the shipped stored bytes name it, as the Merkle leaf does', async (t) => {
  const url = await postgres.database();
  const fleet = openTestFleetStore(t.testdir(), url, capturingLogger().logger);
  t.teardown(() => fleet.store.close());
  const body = JSON.stringify({ text: 'z'.repeat(8_000) });
  fleet.store.append(makeRecord({ organizationId: 'org-apart', requestBody: body }));
  await fleet.settle();
  const [row] = await sql<{ body: string; stored: Buffer }>(url, "SELECT record->>'requestBody' AS body, stored FROM audit_records WHERE organization_id = 'org-apart'");
  t.equal(row!.body, body);
  t.ok(row!.stored.includes(`sha256-${createHash('sha256').update(body).digest('base64')}`));
  t.ok(row!.stored.length < 1024);
});

t.test('batches in the sink at once are acknowledged in order; a failed one goes again with those after it, each row stored once', async (t) => {
  const url = await postgres.database();
  const dayMs = 86_400_000;
  const days = [dayOf(Date.now()) - 2 * dayMs, dayOf(Date.now()) - dayMs];
  const seeder = sinkFor(url);
  await seeder.prepare();
  const seeds = days.map((day, i) => ({ ...makeRecord({ ms: day + 60_000, organizationId: 'org-seed' }), seq: i + 1 }));
  await seeder.write(seeds, encodeAll(seeder, seeds)); // both partitions exist before the lock below
  await seeder.close();
  const blocker = new pg.Client(url);
  await blocker.connect();
  t.teardown(() => blocker.end());
  await blocker.query(`BEGIN; LOCK TABLE ${partitionName(days[0]!)} IN ACCESS EXCLUSIVE MODE`);

  const fleet = openTestFleetStore(t.testdir(), url, capturingLogger().logger, { batchRows: 5, shipConnections: 2 });
  t.teardown(() => fleet.store.close());
  for (const day of days) for (let i = 0; i < 5; i++) fleet.store.append(makeRecord({ ms: day + 120_000 + i, organizationId: 'org-lanes' }));
  await fleet.store.flush();
  // The second day's partition alone: a read of the parent table would wait for the lock too.
  const secondDay = async () => (await sql<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${partitionName(days[1]!)} WHERE organization_id = 'org-lanes'`))[0]!.n;
  await eventually(async () => await secondDay() === 5, 10_000);
  t.equal(fleet.shipper!.position(), 0, 'the second batch is stored, but nothing is acknowledged past the first, still waiting');

  const killed = await sql<{ pid: number }>(url,
    "SELECT pg_terminate_backend(pid)::int AS pid FROM pg_stat_activity WHERE query LIKE 'COPY audit_records %' AND wait_event_type = 'Lock'");
  t.equal(killed.length, 1, 'the first batch\'s connection, waiting for the lock, is cut');
  await blocker.query('ROLLBACK');
  await fleet.settle();
  t.ok(fleet.shipper!.failures >= 1);
  t.same(await sql(url, "SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM audit_records WHERE organization_id = 'org-lanes'"), [{ n: 10, ids: 10 }]);
  t.same(await sql(url, "SELECT sum(rows)::int AS n FROM audit_value_buckets WHERE organization_id = 'org-lanes' AND field = 'method'"), [{ n: 10 }],
    'the rollup counts the batch sent again once');
});

t.test('a refusing server is a logged degraded state; records arrive once it accepts', async (t) => {
  const server = await startTestPostgres();
  t.teardown(() => server.close());
  const url = await server.database();
  await server.stop();
  const { logger, lines } = capturingLogger();
  const fleet = openTestFleetStore(t.testdir(), url, logger, { degradedAfterMs: 0 });
  t.teardown(() => fleet.store.close());
  const records = Array.from({ length: 40 }, () => makeRecord({ organizationId: 'org-down' }));
  records.forEach((record) => t.ok(fleet.store.append(record), 'appends never wait for PostgreSQL'));
  await fleet.store.flush();
  await eventually(() => fleet.shipper!.failures >= 4);
  t.equal(fleet.shipper!.state, 'failing');
  t.match(fleet.status.problem(), /^fleet sink degraded: .*ECONNREFUSED/);
  t.equal(fleet.status.lag().records, 40);
  const degradedLines = lines.filter((line) => /fleet sink degraded/.test(String(line.msg)));
  t.equal(degradedLines.length, 1, 'one log line for the change of state, none per retry');
  t.notMatch(JSON.stringify(lines), /audit-test-password/, 'the password never reaches the log');
  await t.rejects(fleet.store.query({}, { limit: 1 }), { name: 'StoreUnavailableError' });
  await server.start();
  await fleet.settle(20_000);
  t.equal(fleet.shipper!.state, 'shipping');
  t.equal(fleet.status.problem(), null);
  t.equal((await fleet.store.query({ organizationId: 'org-down' }, { limit: 1, withTotal: true })).total, 40);
  t.equal(lines.filter((line) => /fleet sink recovered/.test(String(line.msg))).length, 1);
});

t.test('a server that accepts and never answers holds up neither appends nor a shutdown', async (t) => {
  const silent = createServer((socket) => socket.on('error', () => undefined));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const sockets: Socket[] = [];
  silent.on('connection', (socket) => sockets.push(socket));
  t.teardown(() => {
    sockets.forEach((socket) => socket.destroy());
    silent.close();
  });
  const { port } = silent.address() as AddressInfo;
  const fleet = openTestFleetStore(t.testdir(), `postgres://audit:pw@127.0.0.1:${port}/audit`, capturingLogger().logger, { postgres: { url: `postgres://audit:pw@127.0.0.1:${port}/audit`, statementTimeoutMs: 60_000 } });
  for (let i = 0; i < 10; i++) t.ok(fleet.store.append(makeRecord()));
  await fleet.store.flush();
  await eventually(() => sockets.length > 0);
  const started = Date.now();
  await fleet.store.close();
  t.ok(Date.now() - started < 9_000, `closed in ${Date.now() - started} ms`);
  t.equal(fleet.shipper!.shippedRecords, 0);
});

/** A TCP relay to PostgreSQL whose connections open so far can be made to stop passing the server's bytes, with no reset. */
async function silencingRelay(t: Test, port: number): Promise<{ url: (url: string) => string; silence: () => number }> {
  const live = new Set<Socket>();
  const silenced = new WeakSet<Socket>();
  const sockets: Socket[] = [];
  const relay = createServer((client) => {
    const server = connect(port, '127.0.0.1');
    sockets.push(client, server);
    live.add(client);
    for (const socket of [client, server]) socket.on('error', () => undefined).on('close', () => live.delete(client));
    client.pipe(server);
    server.on('data', (chunk: Buffer) => silenced.has(client) || client.write(chunk));
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  t.teardown(() => {
    sockets.forEach((socket) => socket.destroy());
    relay.close();
  });
  const relayPort = (relay.address() as AddressInfo).port;
  return {
    url: (url) => url.replace(`:${port}/`, `:${relayPort}/`),
    silence: () => {
      live.forEach((client) => silenced.add(client));
      return live.size;
    },
  };
}

t.test('a connection whose server falls silent mid-batch is ended and the batch sent again: each row stored once', async (t) => {
  const url = await postgres.database();
  const relay = await silencingRelay(t, postgres.port);
  const viaRelay = relay.url(url);
  const fleet = openTestFleetStore(t.testdir(), viaRelay, capturingLogger().logger, { postgres: { url: viaRelay, statementTimeoutMs: 500 } });
  t.teardown(() => fleet.store.close());
  for (let i = 0; i < 10; i++) fleet.store.append(makeRecord({ organizationId: 'org-silent' }));
  await fleet.settle();
  t.ok(relay.silence() > 0, 'the shipper\'s connections fall silent');
  for (let i = 0; i < 10; i++) fleet.store.append(makeRecord({ organizationId: 'org-silent' }));
  await fleet.settle(20_000);
  t.ok(fleet.shipper!.failures >= 1, 'the silent connection failed its batch');
  t.same(await sql(url, "SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM audit_records WHERE organization_id = 'org-silent'"), [{ n: 20, ids: 20 }]);
});

t.test('backoff doubles from the minimum up to the maximum, with jitter of up to half', async (t) => {
  t.equal(backoffMs(1, 100, 10_000, () => 1), 100);
  t.equal(backoffMs(3, 100, 10_000, () => 1), 400);
  t.equal(backoffMs(3, 100, 10_000, () => 0), 200);
  t.equal(backoffMs(40, 100, 10_000, () => 1), 10_000);
});
