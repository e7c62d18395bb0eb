import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliProcess, runCli } from '../helpers/cli.js';

t.test('--help works for the program and each command', async (t) => {
  const top = runCli(['--help']);
  t.equal(top.status, 0);
  for (const command of ['serve', 'check-config', 'keys']) t.match(top.stdout, command);
  const serve = runCli(['serve', '--help']);
  t.equal(serve.status, 0);
  for (const flag of ['--config', '--upstream', '--port', '--host', '--data-dir', '--workers', '--log-level']) t.match(serve.stdout, flag);
});

t.test('a bad flag gives one line naming it and a non-zero exit', async (t) => {
  const run = runCli(['serve', '--upstream', 'http://127.0.0.1:1', '--bogus-flag']);
  t.equal(run.status, 2);
  t.match(run.stderr, /^audit-proxy: Unknown argument: bogus-flag\n$/);
  const noCommand = runCli([]);
  t.equal(noCommand.status, 2);
  t.match(noCommand.stderr, /name a command/);
});

t.test('a bad config gives one line naming every bad key and a non-zero exit', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'listen:\n  port: 99999\nupstream:\n  url: ftp://nope\nstore:\n  onFailure: maybe\ntypo: 1\n');
  const run = runCli(['check-config', '--config', file]);
  t.equal(run.status, 2);
  const lines = run.stderr.trim().split('\n');
  t.equal(lines.length, 1, 'one line');
  for (const key of ['listen.port', 'upstream.url', 'store.onFailure', 'typo']) t.match(lines[0], key);
  const missing = runCli(['check-config', '--config', join(dir, 'absent.yaml')]);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /cannot read config file .*absent\.yaml: ENOENT/);
  const notYaml = join(dir, 'broken.yaml');
  writeFileSync(notYaml, 'listen: [unclosed');
  t.match(runCli(['check-config', '--config', notYaml]).stderr, /not valid YAML/);
});

t.test('check-config prints the effective config with secrets masked; flags beat env beats file', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'upstream:\n  url: http://file.test:1\nlisten:\n  port: 1111\n  host: 127.0.0.2\nauth:\n  jwt:\n    secret: file-jwt-secret-value\n');
  const run = runCli(['check-config', '--config', file, '--port', '3333'], {
    AUDIT_PROXY_PORT: '2222', AUDIT_PROXY_UPSTREAM: 'http://env.test:2', AUDIT_PROXY__UPSTREAM__TIMEOUT_MS: '1234',
  });
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /port: 3333/, 'flag wins');
  t.match(run.stdout, /url: http:\/\/env\.test:2/, 'env beats file');
  t.match(run.stdout, /host: 127\.0\.0\.2/, 'file beats default');
  t.match(run.stdout, /timeoutMs: 1234/, 'AUDIT_PROXY__A__B sets any key');
  t.notMatch(run.stdout, /file-jwt-secret-value/);
  t.match(run.stdout, /secret: "\*\*\*"/);
});

t.test('serve refuses a config it cannot run with', async (t) => {
  const run = runCli(['serve'], {});
  t.equal(run.status, 2);
  t.match(run.stderr, /upstream\.url: is required/);
  const badWorkers = runCli(['serve', '--upstream', 'http://127.0.0.1:1', '--workers', 'lots']);
  t.equal(badWorkers.status, 2);
  t.match(badWorkers.stderr, /workers/);
});

t.test('check-config checks every file serve would read and reports every problem in one line', async (t) => {
  const dir = t.testdir({ 'keys.yaml': '- id: k\n  sha256: not-a-digest\n  organizationId: o\n', 'notes.txt': 'x' });
  const file = join(dir, 'config.yaml');
  writeFileSync(file, [
    'upstream:\n  url: http://127.0.0.1:1', `auth:\n  keysFile: ${join(dir, 'keys.yaml')}`,
    `client:\n  geoipDatabase: ${join(dir, 'absent.mmdb')}`, `routes:\n  openapi: ${join(dir, 'absent-openapi.yaml')}`,
    `store:\n  path: ${join(dir, 'notes.txt', 'data')}`, 'workers: lots', '',
  ].join('\n'));
  const run = runCli(['check-config', '--config', file]);
  t.equal(run.status, 2);
  const lines = run.stderr.trim().split('\n');
  t.equal(lines.length, 1, 'one line');
  t.match(lines[0], /workers: must be auto \(one per core\) or a whole number from 1 to 256/);
  t.match(lines[0], /auth\.keysFile: keys file .*keys\.yaml: 0\.sha256: must be a SHA-256 hex digest/);
  t.match(lines[0], /client\.geoipDatabase: cannot open .*absent\.mmdb/);
  t.match(lines[0], /routes\.openapi: cannot load .*absent-openapi\.yaml: ENOENT/);
  t.match(lines[0], /store\.path: .*notes\.txt is not a directory/);
  const missingKeys = runCli(['check-config', '--upstream', 'http://127.0.0.1:1', '--keys-file', join(dir, 'nope.yaml'), '--data-dir', dir]);
  t.equal(missingKeys.status, 2);
  t.match(missingKeys.stderr, /auth\.keysFile: cannot read keys file .*nope\.yaml: ENOENT/);
  const good = runCli(['check-config', '--upstream', 'http://127.0.0.1:1', '--data-dir', join(dir, 'new', 'data')]);
  t.equal(good.status, 0, good.stderr);
});

t.test('YAML syntax errors name the line and column', async (t) => {
  const dir = t.testdir({ 'broken.yaml': 'upstream:\n  url: http://127.0.0.1:1\nlisten: [unclosed\nworkers: 1\n', 'keys.yaml': 'keys: [\n' });
  const config = runCli(['check-config', '--config', join(dir, 'broken.yaml')]);
  t.match(config.stderr, /config file .*broken\.yaml is not valid YAML\/JSON: .* at line 4, column 1\n$/);
  const keys = runCli(['check-config', '--upstream', 'http://127.0.0.1:1', '--keys-file', join(dir, 'keys.yaml'), '--data-dir', dir]);
  t.match(keys.stderr, /keys file .*keys\.yaml is not valid YAML\/JSON: .* at line \d+, column \d+\n$/);
});

t.test('credentials inside URLs never print: check-config and the startup log mask them', async (t) => {
  const url = 'http://alice:s3cr3t-pw@127.0.0.1:1/base?api_key=k3y-value&page=2';
  const check = runCli(['check-config', '--upstream', url, '--data-dir', t.testdir()], {
    AUDIT_PROXY_JWKS_URL: 'https://bob:jwks-pw@issuer.test/jwks', AUDIT_PROXY_INTROSPECTION_URL: 'https://svc:intro-pw@auth.test/introspect',
  });
  t.equal(check.status, 0, check.stderr);
  for (const secret of ['alice', 's3cr3t-pw', 'k3y-value', 'bob', 'jwks-pw', 'intro-pw']) t.notMatch(check.stdout, secret);
  t.match(check.stdout, 'url: http://***:***@127.0.0.1:1/base?api_key=***&page=2');
  t.match(check.stdout, 'jwksUrl: https://***:***@issuer.test/jwks');
  const serve = new CliProcess(['serve', '--upstream', url, '--port', '0', '--host', '127.0.0.1', '--data-dir', t.testdir()]);
  t.teardown(() => serve.kill());
  await serve.waitFor(/audit-proxy listening/);
  t.notMatch(serve.output, /s3cr3t-pw|k3y-value|alice/);
  t.match(serve.output, 'http://***:***@127.0.0.1:1/base');
});
