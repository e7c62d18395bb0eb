import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Key } from 'lmdb';
import t, { type Test } from 'tap';
import { openCheckpoint, parseCheckpointText, signCheckpoint } from '../../src/chain/checkpoint.js';
import { ChainFollower } from '../../src/chain/follower.js';
import { Frontier, leafHash } from '../../src/chain/merkle.js';
import { generateSignerKey, NoteKeyError, parseSignerKey, parseVerifierKey, verifierKeyText } from '../../src/chain/note.js';
import { KEY_FILE_NAME, loadOrCreateSigningKey, readSigningKey } from '../../src/chain/signing-key.js';
import { TreeStore } from '../../src/chain/tree-store.js';
import { verifyChain } from '../../src/chain/verify.js';
import { packRecords } from '../../src/chain/tiles.js';
import { RawLog, setLeafTime } from './fixtures/raw-log.js';
import { openChain } from '../../src/chain/service.js';
import { parseConfig } from '../../src/config/load.js';
import { chainSchema } from '../../src/config/sections/chain.js';
import { openAuditStore, type LmdbAuditStore } from '../../src/store/index.js';
import { capturingLogger, makeRecord, storeConfig } from '../store/fixtures/helpers.js';

const options = { pollMs: 10, checkpointIntervalMs: 100 };
const leafRecordsOf = (entries: Array<{ createdAtMs: number; id: string }>): [number[], string[]] =>
  [entries.map((e) => e.createdAtMs), entries.map((e) => e.id)];
const signer = parseSignerKey(generateSignerKey('test.example/log'));

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'audit-proxy-chain-follower-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function filled(dir: string, count: number): Promise<LmdbAuditStore> {
  const { logger } = capturingLogger();
  const store = openAuditStore(storeConfig(dir), logger);
  for (let i = 0; i < count; i++) store.append(makeRecord());
  await store.flush();
  return store;
}

t.test('the log continues where it stopped, and its root is every stored record\'s', async (t) => {
  const dir = tempDir(t);
  const { logger } = capturingLogger();
  let store = await filled(dir, 7);
  let follower = new ChainFollower(store, new TreeStore(store.env), signer, options, logger);
  await follower.close();
  await store.close();
  store = await filled(dir, 6);
  const tree = new TreeStore(store.env);
  follower = new ChainFollower(store, tree, signer, options, logger);
  follower.start();
  await follower.close();
  t.equal(tree.size(), 13);
  t.equal(store.position('chain'), 13, 'the position pins retention no further than the log got');
  const expected = new Frontier();
  for (const entry of store.readLog(0, 100)) expected.append(leafHash(entry.bytes));
  t.ok(tree.rootAt(13).equals(expected.root()));
  const latest = tree.latestCheckpoint()!;
  t.equal(latest.size, 13, 'closing signs a checkpoint of everything');
  const opened = openCheckpoint(latest.note, signer);
  t.ok(opened.ok && opened.checkpoint.root.equals(expected.root()));
  t.same(tree.checkpointsAfter(0).map((c) => c.size), [7, 13]);
  t.same(tree.checkpointsAfter(7, 1).map((c) => c.size), [13], 'readable by tree size, for a shipper');
  t.equal(tree.seqOf(store.readLog(4, 1)[0]!.id), 5);
  await store.close();
});

t.test('a record gone before the log read it stops the log, loudly, once', async (t) => {
  const dir = tempDir(t);
  const store = await filled(dir, 5);
  const [third] = store.readLog(2, 1);
  await store.env.openDB<Buffer, Key>({ name: 'records', encoding: 'binary' }).remove([third!.createdAtMs, third!.id]);
  const { logger, lines } = capturingLogger();
  const tree = new TreeStore(store.env);
  const follower = new ChainFollower(store, tree, signer, options, logger);
  await follower.runOnce();
  await follower.runOnce();
  t.equal(tree.size(), 2, 'the log holds the records before the hole');
  const errors = lines.filter((line) => line.level === 50);
  t.equal(errors.length, 1);
  t.match(errors[0], { seq: 3, msg: /Merkle log stopped/ });
  await follower.close();
  await store.close();
});

t.test('verify names leaves and nodes removed from the log itself, and unlogged records', async (t) => {
  const dir = tempDir(t);
  const store = await filled(dir, 9);
  const tree = new TreeStore(store.env);
  const { logger } = capturingLogger();
  await new ChainFollower(store, tree, signer, options, logger).close();
  store.append(makeRecord());
  await store.flush();
  const problems: string[] = [];
  const run = () => verifyChain(store, tree, { verifier: signer, problem: (line) => problems.push(line) });
  t.match(await run(), { problems: 0, leaves: 9, unlogged: 1 });
  const tiles = store.env.openDB<Buffer, number>({ name: 'chain_tiles', encoding: 'binary' });
  const levelOne = tiles.getBinary(2 ** 40)!;
  levelOne.fill(0, 32, 64);
  await tiles.put(2 ** 40, levelOne);
  await tiles.put(0, tiles.getBinary(0)!.subarray(0, 5 * 32));
  const report = await run();
  t.ok(report.problems >= 3);
  t.match(problems.join('\n'), /tree node at level 1, index 1: differs/);
  t.match(problems.join('\n'), /seq 6: the log has no leaf for it/);
  t.match(problems.join('\n'), /checkpoint at tree size 9: root hash differs/);
  await store.close();
});

t.test('verify names a record put in another\'s place, and checkpoints that do not fit the log', async (t) => {
  const dir = tempDir(t);
  const store = await filled(dir, 6);
  const tree = new TreeStore(store.env);
  const { logger } = capturingLogger();
  await new ChainFollower(store, tree, signer, options, logger).close();
  store.append(makeRecord());
  await store.flush();
  const log = new RawLog(store.env);
  const intruder = log.keyOf(7);
  await store.env.transaction(() => log.move(7, 4));
  const root = tree.rootAt(6);
  await tree.putCheckpoint(9, signCheckpoint({ origin: signer.name, size: 9, root }, signer));
  await tree.putCheckpoint(3, signCheckpoint({ origin: signer.name, size: 6, root }, signer));
  const other = parseSignerKey(generateSignerKey('other.example/log'));
  await tree.putCheckpoint(2, signCheckpoint({ origin: other.name, size: 2, root }, other));
  const problems: string[] = [];
  const report = await verifyChain(store, tree, { verifier: signer, problem: (line) => problems.push(line) });
  const text = problems.join('\n');
  t.match(text, new RegExp(`^seq 4 id \\S+: inserted: the store has record ${String(intruder[1])} in its place$`, 'm'));
  t.match(text, /^checkpoint at tree size 9: the log has only 6 leaves \(leaves were removed\)$/m);
  t.match(text, /^checkpoint at tree size 3: it signs tree size 6$/m);
  t.match(text, /^checkpoint at tree size 2: no signature by test.example\/log$/m);
  t.equal(report.problems, 4);
  await store.close();
});

t.test('signing keys: created once with mode 0600, read from config or a file, refused when malformed', async (t) => {
  const dir = tempDir(t);
  const defaults = chainSchema.parse({ origin: 'audit.example/proxy' });
  t.equal(readSigningKey(defaults, dir), null, 'none before the first start');
  const created = loadOrCreateSigningKey(defaults, dir);
  t.equal(created.name, 'audit.example/proxy');
  t.equal(statSync(join(dir, KEY_FILE_NAME)).mode & 0o777, 0o600);
  t.equal(loadOrCreateSigningKey(defaults, dir).keyId, created.keyId, 'the same key on the next start');
  const text = readFileSync(join(dir, KEY_FILE_NAME), 'utf8');
  t.equal(readSigningKey(chainSchema.parse({ signingKey: text.trim() }), '/nonexistent')!.keyId, created.keyId);
  const file = join(dir, 'elsewhere');
  writeFileSync(file, text);
  t.equal(readSigningKey(chainSchema.parse({ signingKeyFile: file }), '/nonexistent')!.keyId, created.keyId);
  t.throws(() => readSigningKey(chainSchema.parse({ signingKeyFile: join(dir, 'absent') }), dir), /cannot read the signing key .*ENOENT/);
  t.throws(() => readSigningKey(chainSchema.parse({ signingKey: 'PRIVATE+KEY+x+00000000+AAAA' }), dir), /chain.signingKey: .*Ed25519/);
  t.throws(() => readSigningKey(chainSchema.parse({ signingKey: 'nonsense' }), dir), /PRIVATE\+KEY\+/);
  const wrongId = text.trim().replace(/\+([0-9a-f]{8})\+/, (_, id: string) => `+${id === '00000000' ? '00000001' : '00000000'}+`);
  t.throws(() => parseSignerKey(wrongId), /ID does not match/);
  const verifier = verifierKeyText(created);
  t.equal(parseVerifierKey(verifier).keyId, created.keyId);
  t.throws(() => parseVerifierKey(verifier.replace(/\+[0-9a-f]{8}\+/, '+00000000+')), /ID does not match/);
  t.throws(() => parseVerifierKey('no key'), NoteKeyError);
  t.throws(() => generateSignerKey('has space'), /without spaces/);
});

t.test('a process that does not run the follower still keeps retention behind the log', async (t) => {
  const dir = tempDir(t);
  const { logger } = capturingLogger();
  const config = parseConfig({ upstream: { url: 'http://127.0.0.1:1' }, store: { path: dir, retention: { maxRecords: 2, maxAgeDays: 0 } } });
  const store = openAuditStore(config.store, logger);
  for (let i = 0; i < 5; i++) store.append(makeRecord());
  await store.flush();
  const reader = openChain(config, store, null, logger);
  t.equal(reader.follower, null);
  t.equal(await store.pruneNow(), 0, 'nothing is logged yet, so nothing may go');
  await new ChainFollower(store, reader.tree, signer, options, logger).close();
  t.equal(await store.pruneNow(), 3, 'once logged, retention proceeds');
  await reader.close();
  await store.close();
});

t.test('an append whose thread died after extending a records tile, before the size: the next append names every leaf once', async (t) => {
  // lmdb-js commits what a transaction callback had put when its thread dies; the size is put last, so the tree's
  // size stays, but a records tile may already hold the leaves the next append writes again.
  const dir = tempDir(t);
  const store = await filled(dir, 5);
  const tree = new TreeStore(store.env);
  const { logger } = capturingLogger();
  await new ChainFollower(store, tree, signer, options, logger).close();
  store.append(makeRecord());
  store.append(makeRecord());
  await store.flush();
  const next = store.readLog(5, 2);
  const records = store.env.openDB<Buffer, number>({ name: 'chain_leaf_records', encoding: 'binary' });
  const extended = Buffer.concat([records.getBinary(0)!, packRecords(...leafRecordsOf(next))]);
  await records.put(0, extended);
  t.equal(tree.size(), 5, 'the size did not commit');
  await new ChainFollower(store, tree, signer, options, logger).close();
  store.append(makeRecord());
  await store.flush();
  await new ChainFollower(store, tree, signer, options, logger).close();
  t.equal(tree.size(), 8);
  t.same([...tree.leafRange(1, 8)].map((leaf) => leaf.id), store.readLog(0, 8).map((e) => e.id), 'each leaf names its own record');
  const problems: string[] = [];
  t.match(await verifyChain(store, tree, { verifier: signer, problem: (line) => problems.push(line) }), { problems: 0, leaves: 8 });
  t.same(problems, []);
  await store.close();
});

t.test('a missing record after the newest checkpoint is missing whatever its leaf\'s time says: no signature covers that time', async (t) => {
  const dir = tempDir(t);
  const store = await filled(dir, 6);
  const tree = new TreeStore(store.env);
  const { logger } = capturingLogger();
  const follower = new ChainFollower(store, tree, signer, { ...options, checkpointIntervalMs: 3_600_000 }, logger);
  await follower.runOnce();
  for (let i = 0; i < 3; i++) store.append(makeRecord());
  await store.flush();
  await follower.runOnce();
  t.same([tree.size(), tree.latestCheckpoint()!.size], [9, 6], 'leaves 7-9 are not signed yet');
  const [eighth] = store.readLog(7, 1);
  await store.env.openDB<Buffer, Key>({ name: 'records', encoding: 'binary' }).remove([eighth!.createdAtMs, eighth!.id]);
  await setLeafTime(store.env, 8, 1);
  const problems: string[] = [];
  t.match(await verifyChain(store, tree, { verifier: signer, problem: (line) => problems.push(line) }), { problems: 1, pruned: 0 });
  t.match(problems, [new RegExp(`^seq 8 id ${eighth!.id}: missing`)]);
  await store.close();
});

t.test('a log whose newest checkpoint predates the leaves\' records digest gets one that signs it, at once', async (t) => {
  const dir = tempDir(t);
  const store = await filled(dir, 5);
  const tree = new TreeStore(store.env);
  const { logger } = capturingLogger();
  await new ChainFollower(store, tree, signer, options, logger).close();
  await tree.putCheckpoint(5, signCheckpoint({ origin: signer.name, size: 5, root: tree.rootAt(5) }, signer));
  t.equal(parseCheckpointText(tree.latestCheckpoint()!.note)!.leafRecords, undefined);
  await new ChainFollower(store, tree, signer, { ...options, checkpointIntervalMs: 3_600_000 }, logger).runOnce();
  const latest = parseCheckpointText(tree.latestCheckpoint()!.note)!;
  t.equal(latest.size, 5);
  const expected = createHash('sha256').update(packRecords(...leafRecordsOf(store.readLog(0, 5)))).digest();
  t.same(latest.leafRecords, expected, 'SHA-256 of the leaves\' packed records');
  await store.close();
});
