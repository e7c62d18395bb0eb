import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, runCli } from '../helpers/cli.js';
import { storeSchema } from '../../src/config/sections/store.js';
import { createLogger } from '../../src/log.js';
import { describeOpenError } from '../../src/store/environment.js';
import { openAuditStore } from '../../src/store/index.js';

t.test('query on a directory without a store names it, says why, and creates nothing', async (t) => {
  const dir = t.testdir({ empty: {} });
  const missing = join(dir, 'absent', 'data');
  const run = runCli(['query', '--data-dir', missing]);
  t.not(run.status, 0);
  t.match(run.stderr, `cannot open the audit store at ${missing}: there is no audit store there (no data.mdb)`);
  t.notOk(existsSync(join(dir, 'absent')), 'no directory left behind');
  const empty = runCli(['query', '--data-dir', join(dir, 'empty')]);
  t.match(empty.stderr, /there is no audit store there/);
  t.same(readdirSync(join(dir, 'empty')), [], 'nothing written into it');
});

const asAnotherUser = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;

t.test('a store this user may not open: the path and the likely cause', {
  skip: asAnotherUser ? false : 'needs root and setpriv to run the CLI as another user',
}, async (t) => {
  const store = join(t.testdir(), 'data');
  await openAuditStore(storeSchema.parse({ path: store }), createLogger({ log: { level: 'silent', pretty: 'false', requests: false } })).close();
  chmodSync(store, 0o700);
  const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'query', '--data-dir', store], { encoding: 'utf8' });
  t.not(run.status, 0);
  t.match(run.stderr, `cannot open the audit store at ${store}: Permission denied`);
  t.match(run.stderr, /likely: this user \(uid 65534\) may not read or write there/);
});

t.test('LMDB errors gain the path and a likely cause; errors that name the path already pass unchanged', async (t) => {
  t.match(describeOpenError('/d', new Error('No space left on device')).message, 'cannot open the audit store at /d: No space left on device (likely: the disk is full)');
  t.match(describeOpenError('/d', new Error('odd')).message, /^cannot open the audit store at \/d: odd$/);
  const named = new Error('schema of /d is too new');
  t.equal(describeOpenError('/d', named), named);
});
