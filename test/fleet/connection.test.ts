import t from 'tap';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/load.js';
import { connectionConfig, describeTarget, nodeIdOf } from '../../src/fleet/connection.js';
import { openFleet } from '../../src/fleet/fleet.js';
import { PostgresSink } from '../../src/fleet/postgres-sink.js';
import { openAuditStore } from '../../src/store/index.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { capturingLogger, makeRecord } from '../store/fixtures/helpers.js';

let postgres: TestPostgres;
t.before(async () => {
  postgres = await startTestPostgres();
});
t.teardown(() => postgres.close());

const fleetOf = (fleet: Record<string, unknown>) => parseConfig({ upstream: { url: 'http://127.0.0.1:9' }, fleet }).fleet;

/** The URL without its password (the helper's URLs carry one). */
function withoutPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = '';
  return parsed.toString();
}

async function connects(connection: ReturnType<typeof connectionConfig>): Promise<void> {
  const sink = new PostgresSink({ connection, nodeId: 'n', partitionsAheadDays: 1, retentionDays: 0 }, capturingLogger().logger);
  try {
    await sink.prepare();
  } finally {
    await sink.close();
  }
}

t.test('the password comes from the URL, else passwordFile, else PGPASSWORD', async (t) => {
  const url = await postgres.database();
  await connects(connectionConfig(fleetOf({ postgres: { url } })));
  const file = join(t.testdir(), 'pw');
  writeFileSync(file, `${new URL(url).password}\nignored second line\n`);
  const fromFile = connectionConfig(fleetOf({ postgres: { url: withoutPassword(url), passwordFile: file } }));
  await connects(fromFile);
  const saved = process.env.PGPASSWORD;
  process.env.PGPASSWORD = new URL(url).password;
  t.teardown(() => {
    if (saved === undefined) delete process.env.PGPASSWORD;
    else process.env.PGPASSWORD = saved;
  });
  await connects(connectionConfig(fleetOf({ postgres: { url: withoutPassword(url) } })));
  t.throws(() => connectionConfig(fleetOf({ postgres: { url: withoutPassword(url), passwordFile: join(t.testdir(), 'missing') } })),
    /cannot read fleet\.postgres\.passwordFile .*missing: ENOENT/);
  t.throws(() => connectionConfig(fleetOf({})), /fleet\.postgres\.url is not set/);
});

t.test('logs name the target without the password; the node id defaults to the host name', async (t) => {
  const fleet = fleetOf({ postgres: { url: 'postgres://audit:pw@db.example/audit' } });
  t.equal(describeTarget(fleet), 'db.example:5432/audit');
  t.equal(nodeIdOf(fleet), hostname());
  t.equal(nodeIdOf(fleetOf({ nodeId: 'pod-7' })), 'pod-7');
});

t.test('a process that does not ship still pins, reports lag and says when the sink is behind', async (t) => {
  const url = await postgres.database();
  const config = parseConfig({ upstream: { url: 'http://127.0.0.1:9' }, store: { path: t.testdir() }, fleet: { postgres: { url }, degradedAfterMs: 0 } });
  const local = openAuditStore(config.store, capturingLogger().logger);
  const registry = new Registry();
  const fleet = openFleet(config, local, capturingLogger().logger, { ships: false, registry });
  t.teardown(() => fleet.store.close());
  t.equal(fleet.shipper, null);
  t.equal(fleet.status.problem(), null, 'nothing owed yet');
  for (let i = 0; i < 5; i++) fleet.store.append(makeRecord({ ms: Date.now() - 60_000 }));
  await fleet.store.flush();
  t.same(fleet.status.lag().records, 5);
  t.ok(fleet.status.lag().seconds >= 60);
  t.match(fleet.status.problem(), /^fleet sink degraded: 5 records not shipped, the oldest \d+ s old$/);
  t.equal(await local.pruneNow(Date.now() + 10 * 365 * 86_400_000), 0, 'retention keeps what is not shipped');
  const metrics = await registry.metrics();
  t.match(metrics, /audit_proxy_fleet_lag_records 5/);
  t.notMatch(metrics, /audit_proxy_fleet_shipped_records_total/, 'shipped totals only where the shipper runs');
});
