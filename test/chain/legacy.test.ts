import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Key } from 'lmdb';
import t from 'tap';
import { ChainFollower } from '../../src/chain/follower.js';
import { Frontier, inclusionProof, leafHash, verifyInclusion } from '../../src/chain/merkle.js';
import { generateSignerKey, parseSignerKey } from '../../src/chain/note.js';
import { TreeStore } from '../../src/chain/tree-store.js';
import { verifyChain } from '../../src/chain/verify.js';
import { openAuditStore } from '../../src/store/index.js';
import { capturingLogger, makeRecord, storeConfig } from '../store/fixtures/helpers.js';
import { writeLegacyLog } from './fixtures/legacy-log.js';

const signer = parseSignerKey(generateSignerKey('test.example/log'));
const dir = mkdtempSync(join(tmpdir(), 'audit-proxy-chain-legacy-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** 600 records (more than two tiles) logged in the first release's layout, one entry per leaf and per node. */
t.before(async () => {
  const store = openAuditStore(storeConfig(dir), capturingLogger().logger);
  for (let i = 0; i < 600; i++) store.append(makeRecord());
  await store.flush();
  await writeLegacyLog(store.env, store, signer);
  await store.close();
});

async function verified(store: ReturnType<typeof openAuditStore>, tree: TreeStore): Promise<{ problems: string[]; leaves: number; checkpoints: number }> {
  const problems: string[] = [];
  const report = await verifyChain(store, tree, { verifier: signer, problem: (line) => problems.push(line) });
  return { problems, leaves: report.leaves, checkpoints: report.checkpoints };
}

t.test('a log written by the first release verifies read-only as it is', async (t) => {
  const store = openAuditStore(storeConfig(dir), capturingLogger().logger, { readOnly: true });
  const tree = new TreeStore(store.env);
  t.same(await verified(store, tree), { problems: [], leaves: 600, checkpoints: 1 });
  const [entry] = store.readLog(299, 1);
  const proof = inclusionProof(299, 600, tree.subtree);
  t.ok(verifyInclusion(299, 600, leafHash(entry!.bytes), proof, tree.rootAt(600)), 'proofs come from the legacy nodes');
  t.equal(tree.leaf(300)!.id, entry!.id);
  await store.close();
});

t.test('the follower migrates it to tiles once, then keeps appending; verify and proofs hold across', async (t) => {
  const { logger } = capturingLogger();
  const store = openAuditStore(storeConfig(dir), logger);
  const tree = new TreeStore(store.env);
  const follower = new ChainFollower(store, tree, signer, { pollMs: 10, checkpointIntervalMs: 100 }, logger);
  await follower.runOnce();
  const legacyLeaves = store.env.openDB<Buffer, number>({ name: 'chain_leaves', encoding: 'binary' });
  t.equal(Array.from(legacyLeaves.getKeys()).length, 0, 'the legacy leaves are emptied');
  t.ok(store.env.openDB<Buffer, number>({ name: 'chain_tiles', encoding: 'binary' }).getBinary(0)!.length === 256 * 32, 'tiles hold them');
  for (let i = 0; i < 100; i++) store.append(makeRecord());
  await store.flush();
  await follower.close();
  t.same(await verified(store, tree), { problems: [], leaves: 700, checkpoints: 2 });
  const expected = new Frontier();
  for (const entry of store.readLog(0, 1000)) expected.append(leafHash(entry.bytes));
  t.ok(tree.rootAt(700).equals(expected.root()));
  t.equal(tree.seqOf(store.readLog(649, 1)[0]!.id), 650);
  const records = store.env.openDB<Buffer, Key>({ name: 'records', encoding: 'binary' });
  const [changed] = store.readLog(9, 1);
  await records.put([changed!.createdAtMs, changed!.id] as Key, Buffer.concat([changed!.bytes, Buffer.from(' ')]));
  t.match((await verified(store, tree)).problems, [new RegExp(`^seq 10 id ${changed!.id}: changed`)]);
  await store.close();
});
