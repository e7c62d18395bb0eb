import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Key } from 'lmdb';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { openChain } from '../../src/chain/service.js';
import { TreeStore } from '../../src/chain/tree-store.js';
import { generateSignerKey, parseSignerKey } from '../../src/chain/note.js';
import { openCheckpoint } from '../../src/chain/checkpoint.js';
import { parseConfig } from '../../src/config/load.js';
import { openAuditStore, type LmdbAuditStore } from '../../src/store/index.js';
import { CliProcess, runCli } from '../helpers/cli.js';
import { TestUpstream } from '../helpers/upstream.js';
import { capturingLogger, makeRecord } from '../store/fixtures/helpers.js';

const signer = parseSignerKey(generateSignerKey('test.example/log'));

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'audit-proxy-chain-thread-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function configFor(dir: string) {
  return parseConfig({ upstream: { url: 'http://127.0.0.1:1' }, store: { path: dir }, chain: { pollMs: 10, checkpointIntervalMs: 100 } });
}

async function filled(store: LmdbAuditStore, count: number): Promise<void> {
  for (let i = 0; i < count; i++) store.append(makeRecord());
  await store.flush();
}

/** Blocks this thread's event loop until the log holds `size` leaves: only another thread can get it there. */
function blockUntil(store: LmdbAuditStore, tree: TreeStore, size: number, ms: number): boolean {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    store.env.resetReadTxn(); // lmdb-js renews this thread's snapshot only between turns of its event loop
    if (tree.size() >= size) return true;
  }
  return false;
}

t.test('the follower runs on its own thread: the log grows while this event loop is blocked', async (t) => {
  const dir = tempDir(t);
  const { logger } = capturingLogger();
  const config = configFor(dir);
  const store = openAuditStore(config.store, logger);
  const chain = openChain(config, store, signer, logger);
  t.ok(chain.follower!.thread.threadId > 0);
  await filled(store, 300);
  t.ok(blockUntil(store, chain.tree, 300, 20_000), 'logged with no turn of the main event loop');
  await filled(store, 20);
  await chain.close();
  t.equal(chain.tree.size(), 320);
  const latest = chain.tree.latestCheckpoint()!;
  t.equal(latest.size, 320, 'closing signs a last checkpoint of everything committed');
  t.ok(openCheckpoint(latest.note, signer).ok);
  await store.close();
});

t.test('a thread that dies is started again and continues; its log lines reach this logger', async (t) => {
  const dir = tempDir(t);
  const { logger, lines } = capturingLogger();
  const config = configFor(dir);
  const store = openAuditStore(config.store, logger);
  await filled(store, 5);
  const [third] = store.readLog(2, 1);
  await store.env.openDB<Buffer, Key>({ name: 'records', encoding: 'binary' }).remove([third!.createdAtMs, third!.id]);
  const chain = openChain(config, store, signer, logger);
  const deadline = Date.now() + 20_000;
  while (!lines.some((line) => /Merkle log stopped/.test(String(line.msg))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.match(lines.find((line) => /Merkle log stopped/.test(String(line.msg))), { level: 50, seq: 3 }, 'relayed at its level, with its fields');
  t.equal(chain.tree.size(), 2);
  await chain.follower!.thread.terminate();
  while (!lines.some((line) => /thread exited/.test(String(line.msg))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.ok(lines.some((line) => /Merkle log thread exited; starting it again/.test(String(line.msg))));
  const stopped = () => lines.filter((line) => /Merkle log stopped/.test(String(line.msg))).length;
  while (stopped() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.equal(stopped(), 2, 'the new thread reads the log again (and finds the same hole)');
  await chain.close();
  await store.close();
});

t.test('SIGTERM: the server exits once the log holds every committed record under a signed checkpoint', async (t) => {
  const upstream = await new TestUpstream().start();
  t.teardown(() => upstream.stop());
  const dir = tempDir(t);
  const proxy = new CliProcess(['serve', '--upstream', upstream.url, '--port', '0', '--host', '127.0.0.1', '--data-dir', dir],
    { AUDIT_PROXY__LOG__REQUESTS: 'false', AUDIT_PROXY__CHAIN__POLL_MS: '600000', AUDIT_PROXY__CHAIN__CHECKPOINT_INTERVAL_MS: '600000' });
  t.teardown(() => proxy.kill());
  const port = (await proxy.waitFor(/"port":(\d+)[^\n]*audit-proxy listening/))[1];
  for (let i = 0; i < 30; i++) await (await request(`http://127.0.0.1:${port}/items/${i}`)).body.dump();
  proxy.child.kill('SIGTERM');
  t.equal(await proxy.exited(), 0, proxy.output);
  const verified = runCli(['verify', '--data-dir', dir]);
  t.equal(verified.status, 0, verified.stdout + verified.stderr);
  t.match(verified.stderr, /intact: 30 leaves, 1 checkpoints, 0 pruned by retention, 0 not logged yet/);
});
