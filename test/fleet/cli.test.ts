import t from 'tap';
import { runCli } from '../helpers/cli.js';

t.test('check-config: a bad URL is a one-line error; a good one prints with its password masked', async (t) => {
  for (const url of ['http://audit:sekrit@db/audit', 'postgres//audit:sekrit@db']) {
    const run = runCli(['check-config', '--upstream', 'http://127.0.0.1:9'], { AUDIT_PROXY_FLEET_POSTGRES_URL: url });
    t.equal(run.status, 2, url);
    t.equal(run.stdout, '');
    t.match(run.stderr, /^audit-proxy: invalid config: fleet\.postgres\.url: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    t.equal(run.stderr.trim().split('\n').length, 1, 'one line');
    t.notMatch(run.stderr, /sekrit/, 'the value (and its password) is not repeated');
  }
  const good = runCli(['check-config', '--upstream', 'http://127.0.0.1:9'], { AUDIT_PROXY_FLEET_POSTGRES_URL: 'postgres://audit:s%23kr1t@db:5432/audit?sslmode=require' });
  t.equal(good.status, 0, good.stderr);
  t.match(good.stdout, 'url: postgres://***:***@db:5432/audit?sslmode=require'); // user and password both masked (net/url-mask.ts)
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
