import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { request } from 'undici';
import { eventually } from '../helpers/eventually.js';
import { KEY, ORG_A_TOTAL, TRAFFIC, sendTraffic, startFixture, type Fixture } from './fixtures/audit.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../dist/src/cli.js');

let f: Fixture;

t.before(async () => {
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

t.test('--limit pages with --cursor: the next cursor goes to stderr, the pages join up', async (t) => {
  const whole = (await f.proxy.services.store!.query({ organizationId: 'org-a' }, { limit: 12 })).items;
  const first = await run('node', [CLI, 'query', '--data-dir', f.proxy.dataDir, '--org', 'org-a', '--limit', '5', '--format', 'json']);
  const cursor = /--cursor (\S+)/.exec(first.stderr)?.[1];
  t.ok(cursor, first.stderr);
  const second = await run('node', [CLI, 'query', '--data-dir', f.proxy.dataDir, '--org', 'org-a', '--limit', '7', '--format', 'json', '--cursor', cursor!]);
  t.same([...JSON.parse(first.stdout), ...JSON.parse(second.stdout)].map((i: { id: string }) => i.id), whole.map((i) => i.id));
  const bad = await query('--cursor', 'not-a-cursor').then(() => null, (err: { code: number; stderr: string }) => err);
  t.equal(bad?.code, 2);
  t.match(bad?.stderr, /--cursor is not one this command printed/);
});

t.test('--request-id and --full: every recorded field of one request', async (t) => {
  const [item] = (await f.proxy.services.store!.query({ organizationId: 'org-a', path: '/orders' }, { limit: 1 })).items;
  const [full] = JSON.parse(await query('--request-id', item!.requestId, '--full', '--format', 'json'));
  t.match(full, { requestId: item!.requestId, path: '/orders', method: 'POST', outcome: 'completed', outcomeDetail: null,
    requestBody: /"password":"\[REDACTED\]"/, requestHeaders: { 'x-portkey-api-key': /…/ }, responseBody: null });
  const block = await query('--request-id', item!.requestId, '--full');
  t.match(block, new RegExp(`^requestId: ${item!.requestId}$`, 'm'));
  t.match(block, /^requestBody: \{"n":\d+,"password":"\[REDACTED\]"\}$/m);
});

t.test('--follow prints records as they are committed, until SIGTERM', async (t) => {
  const child = spawn('node', [CLI, 'query', '--data-dir', f.proxy.dataDir, '--follow', '--limit', '2', '--format', 'ndjson', '--org', 'org-b'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout.on('data', (c: Buffer) => { output += c.toString(); });
  const lines = () => output.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { path: string });
  await eventually(() => lines().length === 2, 15_000);
  for (const path of ['/b/followed/1', '/b/followed/2', '/a/not-followed']) {
    const key = path.startsWith('/b') ? KEY.bPlain : KEY.aPlain;
    await (await request(`${f.proxy.url}${path}`, { headers: { authorization: `Bearer ${key}` } })).body.dump();
  }
  await eventually(() => lines().length === 4, 15_000);
  t.same(lines().slice(2).map((l) => l.path), ['/b/followed/1', '/b/followed/2'], 'new matches, in commit order; other organizations left out');
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  t.same(await exited, [0, null], 'SIGTERM ends it cleanly');
  const json = await query('--follow', '--format', 'json').then(() => null, (err: { code: number; stderr: string }) => err);
  t.equal(json?.code, 2);
  t.match(json?.stderr, /--follow prints a record per line/);
});
