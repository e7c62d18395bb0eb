import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { verifierKeyText } from '../../src/chain/note.js';
import { loadOrCreateSigningKey, readSigningKey } from '../../src/chain/signing-key.js';
import { createVerifyCommand } from '../../src/cli/verify-command.js';
import { TreeStore } from '../../src/chain/tree-store.js';
import { chainSchema } from '../../src/config/sections/chain.js';
import { openAuditStore } from '../../src/store/index.js';
import { runCli } from '../helpers/cli.js';
import { capturingLogger, storeConfig } from '../store/fixtures/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'audit-proxy-chain-cli-'));
const live = join(root, 'live');
const noLog = join(root, 'no-log');

t.before(async () => {
  mkdirSync(live);
  loadOrCreateSigningKey(chainSchema.parse({}), live);
  const store = openAuditStore(storeConfig(live), capturingLogger().logger);
  void new TreeStore(store.env);
  await store.close();
  await openAuditStore(storeConfig(noLog), capturingLogger().logger).close();
});
t.teardown(() => rmSync(root, { recursive: true, force: true }));

type Args = Record<string, unknown>;

/** `verify`'s handler in this process: what it printed, what it noted on stderr, and the exit code it set. */
async function handle(args: Args): Promise<{ out: string[]; notes: string[]; exitCode: number }> {
  const out: string[] = [];
  const notes: string[] = [];
  const handler = createVerifyCommand((l) => out.push(l), (l) => notes.push(l)).handler as (args: Args) => unknown;
  process.exitCode = 0;
  try {
    await handler(args);
    return { out, notes, exitCode: process.exitCode ?? 0 };
  } finally {
    process.exitCode = 0;
  }
}

t.test('the commands\' errors name the problem', async (t) => {
  const empty = join(root, 'empty');
  mkdirSync(empty);
  const badKey = join(root, 'bad-key.txt');
  writeFileSync(badKey, 'not a key\n');
  await t.rejects(handle({ 'data-dir': live, 'public-key': badKey }), /public key is not <name>\+<key id>\+<key>/);
  await t.rejects(handle({ 'data-dir': live, 'public-key': join(root, 'absent') }), /--public-key: cannot read .*ENOENT/);
  await t.rejects(handle({ 'data-dir': empty }), /no signing key in the data directory; pass --public-key/);
  await t.rejects(handle({ 'data-dir': noLog, 'public-key': badKey }), /public key is not/, 'the key is checked before the store is opened');
  const own = await handle({ 'data-dir': live });
  t.equal(own.exitCode, 0);
  t.match(own.notes.join('\n'), /own key: pass --public-key[\s\S]*intact: 0 leaves/);
  const keyFile = join(root, 'key.txt');
  writeFileSync(keyFile, verifierKeyText(readSigningKey(chainSchema.parse({}), live)!));
  await t.rejects(handle({ 'data-dir': noLog, 'public-key': keyFile }), /this store has no Merkle log: no server with chain.enabled has run on it/);
  await t.rejects(handle({ 'data-dir': live, 'public-key': keyFile, checkpoint: join(root, 'absent') }), /--checkpoint: cannot read/);
});

t.test('as a user runs them: one line and an exit code; the key is masked in check-config', async (t) => {
  const usage = runCli(['chain']);
  t.equal(usage.status, 2);
  t.match(usage.stderr, /choose a chain subcommand: public-key/);
  const noKey = runCli(['chain', 'public-key', '--data-dir', join(root, 'nowhere')]);
  t.equal(noKey.status, 1);
  t.match(noKey.stderr, /^audit-proxy: no signing key in .*nowhere yet/);
  const secret = readFileSync(join(live, 'chain-signing-key'), 'utf8').trim();
  const config = join(root, 'config.yaml');
  writeFileSync(config, `upstream: { url: "http://127.0.0.1:1" }\nstore: { path: "${live}" }\n`);
  const masked = runCli(['check-config', '--config', config], { AUDIT_PROXY__CHAIN__SIGNING_KEY: secret });
  t.equal(masked.status, 0, masked.stderr);
  t.match(masked.stdout, /signingKey: "\*\*\*"/);
  t.notMatch(masked.stdout, secret.slice(-20), 'the key never reaches the output');
  process.env.AUDIT_PROXY__CHAIN__SIGNING_KEY = secret;
  t.teardown(() => delete process.env.AUDIT_PROXY__CHAIN__SIGNING_KEY);
  const viaConfig = await handle({ config });
  t.equal(viaConfig.exitCode, 0);
  t.match(viaConfig.notes.join('\n'), /intact: 0 leaves/);
});
