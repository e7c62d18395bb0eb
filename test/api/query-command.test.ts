import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { ORG_A_TOTAL, TRAFFIC, sendTraffic, startFixture, type Fixture } from './fixtures/audit.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../dist/src/cli.js');

let f: Fixture;

t.before(async () => {
  await run('npx', ['tsc', '-p', '.'], { cwd: join(import.meta.dirname, '../..') });
  f = await startFixture();
  await sendTraffic(f);
});
t.teardown(() => f.close());

/** The CLI against the store of the proxy that is still running. */
async function query(...args: string[]): Promise<string> {
  const { stdout } = await run('node', [CLI, 'query', '--data-dir', f.proxy.dataDir, ...args]);
  return stdout;
}

t.test('json: newest first, the api-keys/requests item shape, filters applied', async (t) => {
  const items = JSON.parse(await query('--org', 'org-a', '--limit', '100', '--format', 'json'));
  t.equal(items.length, ORG_A_TOTAL);
  t.same(Object.keys(items[0]).length, 16);
  t.ok(items.every((i: { organizationId: string }) => i.organizationId === 'org-a'));
  t.equal(items.at(-1).path, '/things/0', 'oldest last');
  const posts = JSON.parse(await query('--org', 'org-a', '--method', 'post', '--format', 'json'));
  t.equal(posts.length, TRAFFIC.aService);
  t.ok(posts.every((i: { method: string; serviceAccountId: string }) => i.method === 'POST' && i.serviceAccountId === 'sa-a1'));
  const notFound = JSON.parse(await query('--api-key-id', 'key-a-plain', '--status', '404', '--format', 'json'));
  t.equal(notFound.length, TRAFFIC.aNotFound);
  t.same(JSON.parse(await query('--to', '2001-01-01', '--format', 'json')), []);
});

t.test('ndjson, csv and table', async (t) => {
  const lines = (await query('--org', 'org-b', '--limit', '5', '--format', 'ndjson')).trim().split('\n');
  t.equal(lines.length, 5);
  t.ok(lines.every((line) => JSON.parse(line).organizationId === 'org-b'));
  const csv = (await query('--path', '/jobs', '--format', 'csv')).trim().split('\n');
  t.equal(csv[0], 'apiKeyId,clientIp,createdAt,durationMs,id,method,organizationId,path,principalId,principalType,requestId,routePattern,serviceAccountId,statusCode,userAgent,userId');
  t.equal(csv.length, 1 + TRAFFIC.jwtService);
  const table = (await query('--user-id', 'user-a1')).trim().split('\n');
  t.match(table[0], /^createdAt\s+method\s+statusCode\s+path/);
  t.match(table[1], /DELETE\s+200\s+\/things\/1\s+api_key\s+key-a-user\s+org-a/);
  t.equal(table.at(-1), `${TRAFFIC.aUser} records`);
});

t.test('--config reads store.path from a config file', async (t) => {
  const file = join(t.testdir(), 'config.yaml');
  writeFileSync(file, `upstream:\n  url: http://127.0.0.1:9\nstore:\n  path: ${JSON.stringify(f.proxy.dataDir)}\n`);
  const { stdout } = await run('node', [CLI, 'query', '--config', file, '--service-account-id', 'sa-jwt', '--format', 'json']);
  t.equal(JSON.parse(stdout).length, TRAFFIC.jwtService);
});

t.test('bad flags are usage errors', async (t) => {
  for (const [flags, message] of [[['--from', 'yesterday'], /--from must be an ISO 8601/], [['--limit', '0'], /--limit must be a positive integer/],
    [['--format', 'xml'], /Invalid values/]] as const) {
    const failure = await query(...flags).then(() => null, (err: { code: number; stderr: string }) => err);
    t.equal(failure?.code, 2, flags.join(' '));
    t.match(failure?.stderr, message);
  }
});
