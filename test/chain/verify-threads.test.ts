import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Key } from 'lmdb';
import t from 'tap';
import type { AuditRecord } from '../../src/audit/record.js';
import { ChainFollower } from '../../src/chain/follower.js';
import { generateSignerKey, parseSignerKey } from '../../src/chain/note.js';
import { TreeStore } from '../../src/chain/tree-store.js';
import { verifyChain, type VerifyOptions, type VerifyReport } from '../../src/chain/verify.js';
import { openAuditStore, type LmdbAuditStore } from '../../src/store/index.js';
import { capturingLogger, makeRecord, storeConfig } from '../store/fixtures/helpers.js';
import { RawLog } from './fixtures/raw-log.js';

const signer = parseSignerKey(generateSignerKey('test.example/log'));
const dir = mkdtempSync(join(tmpdir(), 'audit-proxy-verify-threads-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function append(store: LmdbAuditStore, count: number): Promise<void> {
  for (let i = 0; i < count; i++) store.append(makeRecord());
  await store.flush();
}

/** Logs what the store holds and signs a checkpoint at its size. */
async function logged(store: LmdbAuditStore, tree: TreeStore): Promise<void> {
  await new ChainFollower(store, tree, signer, { pollMs: 1_000_000, checkpointIntervalMs: 0 }, capturingLogger().logger).close();
}

async function verified(store: LmdbAuditStore, threads?: number): Promise<{ report: VerifyReport; problems: string[] }> {
  const problems: string[] = [];
  const options: VerifyOptions = { verifier: signer, problem: (line) => problems.push(line) };
  if (threads !== undefined) options.threads = { store: storeConfig(dir), count: threads };
  return { report: await verifyChain(store, new TreeStore(store.env), options), problems };
}

// Two checkpoints off the steps' 4,096-leaf boundaries and more steps than threads: every thread gets work, out of order.
t.before(async () => {
  const store = openAuditStore(storeConfig(dir), capturingLogger().logger);
  const tree = new TreeStore(store.env);
  await append(store, 5_000);
  await logged(store, tree);
  await append(store, 4_321);
  await logged(store, tree);
  await append(store, 3); // committed, not logged yet
  await store.close();
});

t.test('an intact store: threads find what one thread finds, and nothing', async (t) => {
  const store = openAuditStore(storeConfig(dir), capturingLogger().logger, { readOnly: true });
  t.teardown(() => store.close());
  const alone = await verified(store);
  t.match(alone.report, { problems: 0, leaves: 9_321, checkpoints: 2, unlogged: 3, pruned: 0 });
  t.same(await verified(store, 3), alone);
});

t.test('a tampered store: threads name the same problems, in the same order, as one thread', async (t) => {
  const store = openAuditStore(storeConfig(dir), capturingLogger().logger);
  t.teardown(() => store.close());
  const records = store.env.openDB<AuditRecord, Key>({ name: 'records', sharedStructuresKey: Symbol.for('structures') });
  const log = new RawLog(store.env);
  const [changed, removed, moved] = [log.keyOf(4_500), log.keyOf(7_000), log.keyOf(8_200)];
  await records.put(changed, { ...records.get(changed)!, statusCode: 299 });
  await records.remove(removed);
  await store.env.transaction(() => log.move(8_200, 1_000));
  const tiles = store.env.openDB<Buffer, number>({ name: 'chain_tiles', encoding: 'binary' });
  const levelTwo = Buffer.from(tiles.getBinary(2 * 2 ** 40 + 2)!);
  levelTwo.fill(0, 0, 32);
  await tiles.put(2 * 2 ** 40 + 2, levelTwo);

  const alone = await verified(store);
  const text = alone.problems.join('\n');
  t.match(text, new RegExp(`^seq 1000 id \\S+: inserted: the store has record ${String(moved[1])} in its place$`, 'm'));
  t.match(text, /^seq 4500 id \S+: changed: /m);
  t.match(text, /^seq 7000 id \S+: missing: /m);
  t.match(text, /^seq 8200 id \S+: missing: /m);
  t.match(text, /^tree node at level 2, index 512: differs/m);
  t.same(await verified(store, 2), alone);
});

t.test('records retention removes while threads walk are counted as pruned, not missing', async (t) => {
  const retained = mkdtempSync(join(tmpdir(), 'audit-proxy-verify-retention-'));
  t.teardown(() => rmSync(retained, { recursive: true, force: true }));
  const store = openAuditStore(storeConfig(retained), capturingLogger().logger);
  t.teardown(() => store.close());
  await append(store, 14_000); // four steps of 4,096 leaves; one thread is given two steps ahead
  await logged(store, new TreeStore(store.env));
  const tiles = store.env.openDB<Buffer, number>({ name: 'chain_tiles', encoding: 'binary' });
  const levelOne = Buffer.from(tiles.getBinary(2 ** 40)!);
  levelOne.fill(0, 0, 32);
  await tiles.put(2 ** 40, levelOne); // a problem named while the walk is at its first step
  const records = store.env.openDB<AuditRecord, Key>({ name: 'records', sharedStructuresKey: Symbol.for('structures') });
  const oldest: Key[][] = [];
  store.visitLog(1, 9_000, (_seq, createdAtMs, id) => oldest.push([createdAtMs, id]));
  const problems: string[] = [];
  const report = await verifyChain(store, new TreeStore(store.env), {
    verifier: signer,
    threads: { store: storeConfig(retained), count: 1 },
    problem: (line) => {
      // retention at work: the oldest 9,000 records go, the third step's first 808 among them, before it is read
      if (problems.push(line) === 1) store.env.transactionSync(() => oldest.forEach((key) => records.removeSync(key)));
    },
  });
  t.same(problems, ['tree node at level 1, index 0: differs from the leaves below it']);
  t.match(report, { problems: 1, leaves: 14_000, pruned: 808 });
});

t.test('a thread that cannot open the store fails verify with its error', async (t) => {
  const store = openAuditStore(storeConfig(dir), capturingLogger().logger, { readOnly: true });
  t.teardown(() => store.close());
  const options: VerifyOptions = { verifier: signer, problem: () => undefined, threads: { store: storeConfig(join(dir, 'gone')), count: 2 } };
  await t.rejects(verifyChain(store, new TreeStore(store.env), options), /no audit store there/);
});
