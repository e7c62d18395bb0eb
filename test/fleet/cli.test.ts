import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { CliProcess, runCli } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { startTestPostgres } from '../helpers/postgres.js';
import { TestUpstream } from '../helpers/upstream.js';

t.test('check-config: a bad URL is a one-line error; a good one prints with its password masked', async (t) => {
  for (const url of ['http://audit:sekrit@db/audit', 'postgres//audit:sekrit@db', 'postgres://']) {
    const run = runCli(['check-config', '--upstream', 'http://127.0.0.1:9'], { AUDIT_PROXY_FLEET_POSTGRES_URL: url });
    t.equal(run.status, 2, url);
    t.equal(run.stdout, '');
    t.match(run.stderr, /^audit-proxy: invalid config: fleet\.postgres\.url: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    t.equal(run.stderr.trim().split('\n').length, 1, 'one line');
    t.notMatch(run.stderr, /sekrit/, 'the value (and its password) is not repeated');
  }
  const good = runCli(['check-config', '--upstream', 'http://127.0.0.1:9'], { AUDIT_PROXY_FLEET_POSTGRES_URL: 'postgres://audit:s%23kr1t@db:5432/audit?sslmode=require' });
  t.equal(good.status, 0, good.stderr);
  t.match(good.stdout, 'url: postgres://audit:***@db:5432/audit?sslmode=require');
  t.notMatch(good.stdout, /kr1t/);
});

t.test('query --fleet without a URL is a one-line usage error', async (t) => {
  const run = runCli(['query', '--fleet']);
  t.equal(run.status, 2);
  t.match(run.stderr, /^audit-proxy: invalid config: --fleet needs fleet\.postgres\.url/);
  const bad = runCli(['query', '--fleet'], { AUDIT_PROXY_FLEET_POSTGRES_URL: 'mysql://u:sekrit@db/x' });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /^audit-proxy: invalid config: fleet\.postgres\.url: must be a postgres:\/\//);
  t.notMatch(bad.stderr, /sekrit/);
  const refused = runCli(['query', '--fleet'], { AUDIT_PROXY_FLEET_POSTGRES_URL: 'postgres://u:sekrit@127.0.0.1:9/x' });
  t.equal(refused.status, 1);
  t.match(refused.stderr, /^audit-proxy: the fleet audit store \(PostgreSQL\) cannot answer: .*ECONNREFUSED/);
  t.equal(refused.stderr.trim().split('\n').length, 1, 'one line');
  t.notMatch(refused.stderr, /sekrit/);
});

t.test('a proxy killed -9 while PostgreSQL is down ships its records after a restart', async (t) => {
  const postgres = await startTestPostgres();
  t.teardown(() => postgres.close());
  const url = await postgres.database();
  const upstream = await new TestUpstream().start();
  t.teardown(() => upstream.stop());
  const dir = t.testdir();
  const env = {
    AUDIT_PROXY_UPSTREAM: upstream.url, AUDIT_PROXY_PORT: '0', AUDIT_PROXY_HOST: '127.0.0.1', AUDIT_PROXY_DATA_DIR: join(dir, 'data'),
    AUDIT_PROXY_FLEET_POSTGRES_URL: url, AUDIT_PROXY__FLEET__RETRY_MAX_MS: '200', AUDIT_PROXY__FLEET__NODE_ID: 'crashy',
  };
  await postgres.stop();
  const first = new CliProcess(['serve'], env);
  t.teardown(() => first.kill());
  const port = (await first.waitFor(/"port":(\d+)/))[1];
  for (let i = 0; i < 25; i++) {
    const res = await request(`http://127.0.0.1:${port}/crash/${i}`);
    await res.body.dump();
    t.equal(res.statusCode, 200);
  }
  await eventually(async () => {
    const metrics = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
    return /audit_proxy_fleet_lag_records 25\b/.test(metrics);
  });
  await first.waitFor(/fleet sink degraded/);
  first.kill('SIGKILL');
  await first.exited();
  await postgres.start();
  const second = new CliProcess(['serve'], env);
  t.teardown(() => second.kill('SIGTERM'));
  await second.waitFor(/fleet sink ready/);
  const configFile = join(dir, 'fleet.yaml');
  writeFileSync(configFile, `upstream: { url: "${upstream.url}" }\nfleet: { postgres: { url: "${url}" } }\n`);
  const printed = await eventually(() => {
    const run = runCli(['query', '--fleet', '--config', configFile, '--format', 'ndjson', '--limit', '100']);
    const lines = run.stdout.trim().split('\n').filter(Boolean);
    return lines.length >= 25 ? lines : null;
  }, 15_000);
  t.equal(printed!.length, 25, 'every record, once');
  t.same(new Set(printed!.map((line) => JSON.parse(line).path)), new Set(Array.from({ length: 25 }, (_, i) => `/crash/${i}`)));
});
