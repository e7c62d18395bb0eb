import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, type Key } from 'lmdb';
import t from 'tap';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { startProxy, type RunningProxy } from '../../src/server.js';
import { openAuditStore } from '../../src/store/index.js';
import { createVerifyCommand } from '../../src/cli/verify-command.js';
import { parseCheckpointNote, signedBy } from '../helpers/c2sp.js';
import { CliProcess, runCli, type CliRun } from '../helpers/cli.js';
import { TestUpstream } from '../helpers/upstream.js';
import { KEY, keyEntries } from '../api/fixtures/audit.js';
import { RawLog, setLeafTime } from './fixtures/raw-log.js';

const root = mkdtempSync(join(tmpdir(), 'audit-proxy-chain-'));
const live = join(root, 'live');
const older = join(root, 'older');
const newerCheckpoint = join(root, 'newer-checkpoint.txt');
const publicKeyFile = join(root, 'public-key.txt');
let upstream: TestUpstream;
let duringServe: CliRun;

function configFor(dataDir: string) {
  return parseConfig({
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { url: upstream.url },
    store: { path: dataDir },
    auth: { keys: keyEntries },
    log: { level: 'warn', pretty: 'false' },
    chain: { pollMs: 20, checkpointIntervalMs: 100 },
  });
}

async function startAt(dataDir: string): Promise<RunningProxy & { url: string }> {
  const config = configFor(dataDir);
  const proxy = await startProxy(config, createLogger(config));
  return Object.assign(proxy, { url: `http://127.0.0.1:${proxy.port}` });
}

async function send(proxy: { url: string }, path: string): Promise<void> {
  const res = await request(`${proxy.url}${path}`, { headers: { authorization: `Bearer ${KEY.aPlain}` } });
  await res.body.dump();
}

/** Large enough to be stored apart from its records (twice: stored once). */
const APART_BODY = JSON.stringify({ text: 'b'.repeat(6_000) });

async function post(proxy: { url: string }, path: string, body: string): Promise<void> {
  const res = await request(`${proxy.url}${path}`, { method: 'POST', body, headers: { authorization: `Bearer ${KEY.aPlain}`, 'content-type': 'application/json' } });
  await res.body.dump();
}

/** The newest checkpoint once it covers at least `size` leaves. */
async function checkpointCovering(proxy: { url: string }, size: number): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await request(`${proxy.url}/v1/audit-logs/checkpoint`, { headers: { authorization: `Bearer ${KEY.admin}` } });
    const body = await res.body.json() as { data?: { treeSize: number; checkpoint: string } };
    if (res.statusCode === 200 && body.data!.treeSize >= size) return body.data!.checkpoint;
    if (Date.now() > deadline) throw new Error(`no checkpoint of ${size} leaves: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

t.before(async () => {
  upstream = await new TestUpstream().start();
  let proxy = await startAt(live);
  for (let i = 0; i < 20; i++) await send(proxy, `/first/${i}${i === 7 ? '/flip-me-marker' : ''}`);
  // Each poll for the checkpoint is itself recorded: the newer checkpoint must outgrow whatever this phase logged.
  const firstSize = parseCheckpointNote(await checkpointCovering(proxy, 20)).treeSize;
  await proxy.close();
  cpSync(live, older, { recursive: true });
  proxy = await startAt(live);
  for (let i = 0; i < 20; i++) await send(proxy, `/second/${i}`);
  for (let i = 0; i < 2; i++) await post(proxy, '/bodies', APART_BODY);
  writeFileSync(newerCheckpoint, await checkpointCovering(proxy, firstSize + 22));
  const verifier = new CliProcess(['verify', '--data-dir', live]);
  await verifier.exited();
  duringServe = { status: verifier.child.exitCode, stdout: verifier.output, stderr: '' };
  await proxy.close();
  const printed = runCli(['chain', 'public-key', '--data-dir', live]);
  writeFileSync(publicKeyFile, printed.stdout);
});
t.teardown(async () => {
  await upstream.stop();
  rmSync(root, { recursive: true, force: true });
});

/** A fresh copy of the live data directory to damage. */
function copyOfLive(name: string): string {
  const dir = join(root, name);
  cpSync(live, dir, { recursive: true });
  return dir;
}

/** `audit-proxy verify` run in this process (its handler), as a CLI run: problem lines, notes, exit code. */
async function verify(dir: string, ...flags: string[]): Promise<CliRun> {
  const [out, notes]: [string[], string[]] = [[], []];
  const handler = createVerifyCommand((l) => out.push(l), (l) => notes.push(l)).handler as (args: object) => Promise<void>;
  const checkpoint = flags[0] === '--checkpoint' ? flags[1] : undefined;
  process.exitCode = 0;
  try {
    await handler({ 'data-dir': dir, 'public-key': publicKeyFile, checkpoint });
    return { status: Number(process.exitCode ?? 0), stdout: out.map((l) => `${l}\n`).join(''), stderr: notes.map((l) => `${l}\n`).join('') };
  } finally {
    process.exitCode = 0;
  }
}

/** The store's own databases, opened raw through lmdb-js as an attacker with the disk would. */
function rawDbs(dir: string) {
  const env = open({ path: dir, noSubdir: false, maxDbs: 32 });
  return {
    env,
    records: env.openDB<Buffer, Key>({ name: 'records', encoding: 'binary' }),
    log: new RawLog(env),
    checkpoints: env.openDB<string, number>({ name: 'chain_checkpoints', encoding: 'string' }),
    bodies: env.openDB<Buffer, Buffer>({ name: 'bodies', encoding: 'binary', keyEncoding: 'binary', compression: true }),
  };
}

t.test('an untouched store verifies, while the server runs and after', async (t) => {
  t.equal(duringServe.status, 0, duringServe.stdout);
  t.match(duringServe.stdout, /intact: \d+ leaves/);
  const result = await verify(live);
  t.equal(result.status, 0, result.stdout + result.stderr);
  t.equal(result.stdout, '', 'no problem lines');
  t.match(result.stderr, /intact: \d+ leaves, \d+ checkpoints, 0 pruned by retention, 0 not logged yet, 1 bodies stored apart; \d+ records\/s/);
});

t.test('the key file is private and the public key and checkpoints follow C2SP', async (t) => {
  t.equal(statSync(join(live, 'chain-signing-key')).mode & 0o777, 0o600);
  const keyText = readFileSync(publicKeyFile, 'utf8');
  t.match(keyText, /^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/);
  const parsed = parseCheckpointNote(readFileSync(newerCheckpoint, 'utf8'));
  t.ok(parsed.treeSize >= 40);
  t.equal(parsed.origin, keyText.split('+')[0]);
  t.ok(signedBy(parsed, keyText), 'the signature verifies with an implementation written from the spec');
  t.match(parsed.extensions, [/^leaf-records [A-Za-z0-9+/]{43}=$/], 'one extension line: the leaves\' records digest');
  t.notOk(signedBy({ ...parsed, body: parsed.body.replace(/\n\d+\n/, '\n1\n') }, keyText), 'and not over other text');
});

t.test('one flipped byte of one record in the LMDB data file', async (t) => {
  const dir = copyOfLive('flipped');
  const file = join(dir, 'data.mdb');
  const data = readFileSync(file);
  const marker = Buffer.from('flip-me-marker');
  let flipped = 0;
  for (let at = data.indexOf(marker); at >= 0; at = data.indexOf(marker, at + 1)) {
    data[at] = 'F'.charCodeAt(0);
    flipped++;
  }
  t.ok(flipped > 0, 'the record is in the file');
  writeFileSync(file, data);
  const result = runCli(['verify', '--data-dir', dir, '--public-key', publicKeyFile]);
  t.equal(result.status, 1);
  t.match(result.stdout, /^seq 8 id \S+: changed: the stored record does not hash to its logged leaf$/m);
  t.equal(result.stdout.trim().split('\n').length, 1, 'exactly one problem');
});

t.test('a record deleted through lmdb-js', async (t) => {
  const dir = copyOfLive('deleted');
  const db = rawDbs(dir);
  const key = db.log.keyOf(12);
  await db.records.remove(key as Key);
  await db.env.close();
  const result = await verify(dir);
  t.equal(result.status, 1);
  t.match(result.stdout, new RegExp(`^seq 12 id ${String(key[1])}: missing: logged, but gone from the store`, 'm'));
});

t.test('a record deleted from the middle, its leaf\'s time set before every record kept, is missing, not pruned', async (t) => {
  const dir = copyOfLive('relabelled');
  const db = rawDbs(dir);
  const key = db.log.keyOf(12);
  await db.records.remove(key as Key);
  await setLeafTime(db.env, 12, 1);
  await db.env.close();
  const result = await verify(dir);
  t.equal(result.status, 1, 'counted as pruned before checkpoints signed the leaves\' records');
  t.match(result.stdout, new RegExp(`^seq 12 id ${String(key[1])}: missing: logged, but gone from the store`, 'm'));
  t.match(result.stdout, /^checkpoint at tree size \d+: the leaves' records differ from the ones it signs \(a leaf's time or id was changed\)$/m);
});

t.test('a body stored apart, changed through lmdb-js', async (t) => {
  const dir = copyOfLive('body-changed');
  const db = rawDbs(dir);
  const [key] = [...db.bodies.getKeys({})] as Buffer[];
  const changed = Buffer.from(db.bodies.getBinary(key!)!.toString().replace('bbbb', 'cccc'));
  await db.bodies.put(key!, changed);
  await db.env.close();
  const result = await verify(dir);
  t.equal(result.status, 1);
  t.equal(result.stdout, `body sha256-${key!.toString('base64')}: changed: its bytes do not hash to it\n`, 'the records and their leaves are untouched');
});

t.test('a body stored apart, removed through lmdb-js', async (t) => {
  const dir = copyOfLive('body-removed');
  const db = rawDbs(dir);
  const [key] = [...db.bodies.getKeys({})] as Buffer[];
  await db.bodies.remove(key!);
  await db.env.close();
  const result = await verify(dir);
  t.equal(result.status, 1);
  const lines = result.stdout.trim().split('\n');
  t.equal(lines.length, 2, 'both records that refer to it');
  for (const line of lines) t.match(line, new RegExp(`^record \\S+: missing body: sha256-${key!.toString('base64').replaceAll('+', '\\+')} is not in the store$`));
});

t.test('two records\' values swapped', async (t) => {
  const dir = copyOfLive('swapped');
  const db = rawDbs(dir);
  const [a, b] = [db.log.keyOf(3) as Key, db.log.keyOf(15) as Key];
  const [va, vb] = [db.records.getBinary(a)!, db.records.getBinary(b)!];
  await db.env.transaction(() => {
    db.records.put(a, Buffer.from(vb));
    db.records.put(b, Buffer.from(va));
  });
  await db.env.close();
  const result = await verify(dir);
  t.equal(result.status, 1);
  t.match(result.stdout, /^seq 3 id \S+: reordered: it holds the record logged at seq 15/m);
  t.match(result.stdout, /^seq 15 id \S+: reordered: it holds the record logged at seq 3/m);
});

t.test('an older copy of the data directory, against a newer saved checkpoint', async (t) => {
  const alone = await verify(older);
  t.equal(alone.status, 0, 'the older copy is intact on its own');
  const result = await verify(older, '--checkpoint', newerCheckpoint);
  t.equal(result.status, 1);
  t.match(result.stdout, /^store rolled back: --checkpoint has tree size \d+, the store's log only \d+ leaves$/m);
  t.equal((await verify(live, '--checkpoint', newerCheckpoint)).status, 0, 'the live store contains it');
});

t.test('a forged checkpoint signature', async (t) => {
  const dir = copyOfLive('forged');
  const db = rawDbs(dir);
  const [{ key, value }] = Array.from(db.checkpoints.getRange({ limit: 1 }));
  const forged = value.replace(/ (\S+)\n$/, (_, sig: string) => {
    const raw = Buffer.from(sig, 'base64');
    raw[10] ^= 1;
    return ` ${raw.toString('base64')}\n`;
  });
  await db.checkpoints.put(key, forged);
  await db.env.close();
  const result = await verify(dir);
  t.equal(result.status, 1);
  t.match(result.stdout, new RegExp(`^checkpoint at tree size ${String(key)}: signature bad$`, 'm'));
});

t.test('records pruned by retention do not break verification of the rest', async (t) => {
  const dir = copyOfLive('pruned');
  const config = configFor(dir);
  const store = openAuditStore({ ...config.store, retention: { ...config.store.retention, maxRecords: 25 } }, createLogger(config));
  const removed = await store.pruneNow();
  await store.close();
  t.ok(removed > 10, `retention removed ${removed}`);
  const result = await verify(dir);
  t.equal(result.status, 0, result.stdout);
  t.match(result.stderr, new RegExp(`intact: \\d+ leaves, \\d+ checkpoints, ${removed} pruned by retention`));
});
