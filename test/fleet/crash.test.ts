import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { CliProcess, runCli } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { startTestPostgres } from '../helpers/postgres.js';
import { TestUpstream } from '../helpers/upstream.js';

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
  const port = (await first.waitFor(/"port":(\d+)/, 60_000))[1];
  for (let i = 0; i < 25; i++) {
    const res = await request(`http://127.0.0.1:${port}/crash/${i}`);
    await res.body.dump();
    t.equal(res.statusCode, 200);
  }
  await eventually(async () => {
    const metrics = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
    return /audit_proxy_fleet_lag_records 25\b/.test(metrics);
  }, 30_000);
  await first.waitFor(/fleet sink degraded/, 60_000);
  first.kill('SIGKILL');
  await first.exited();
  await postgres.start();
  const second = new CliProcess(['serve'], env);
  t.teardown(() => second.kill('SIGTERM'));
  await second.waitFor(/fleet sink ready/, 60_000);
  const configFile = join(dir, 'fleet.yaml');
  writeFileSync(configFile, `upstream: { url: "${upstream.url}" }\nfleet: { postgres: { url: "${url}" } }\n`);
  const printed = await eventually(() => {
    const run = runCli(['query', '--fleet', '--config', configFile, '--format', 'ndjson', '--limit', '100']);
    const lines = run.stdout.trim().split('\n').filter(Boolean);
    return lines.length >= 25 ? lines : null;
  }, 60_000);
  t.equal(printed!.length, 25, 'every record, once');
  t.same(new Set(printed!.map((line) => JSON.parse(line).path)), new Set(Array.from({ length: 25 }, (_, i) => `/crash/${i}`)));
});
