import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

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
