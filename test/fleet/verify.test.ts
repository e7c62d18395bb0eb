import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Registry } from 'prom-client';
import { ChainFollower } from '../../src/chain/follower.js';
import { generateSignerKey, parseSignerKey, signNote, verifierKeyText, type NoteSigner } from '../../src/chain/note.js';
import { TreeStore } from '../../src/chain/tree-store.js';
import { parseConfig } from '../../src/config/load.js';
import { openFleet } from '../../src/fleet/fleet.js';
import { FLEET_CHECKPOINTS } from '../../src/fleet/shipper.js';
import { openAuditStore } from '../../src/store/index.js';
import { runCli } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { capturingLogger, makeRecord } from '../store/fixtures/helpers.js';

let postgres: TestPostgres;
let url: string;
let keysFile: string;
const dir = mkdtempSync(join(tmpdir(), 'audit-proxy-fleet-verify-'));
const signers: Record<string, NoteSigner> = {
  'node-a': parseSignerKey(generateSignerKey('a.example/log')),
  'node-b': parseSignerKey(generateSignerKey('b.example/log')),
};

/** Seqs 1, 8 and 15 of each node carry a body stored apart in its LMDB, seqs 2, 9 and 16 one inside the record. */
const LARGE_BODY = JSON.stringify({ text: 'l'.repeat(5_000) });
const SMALL_BODY = JSON.stringify({ text: 'small' });

/** A proxy's store, Merkle log and shipper (the real components, without HTTP): three rounds, a checkpoint each. */
async function runNode(nodeId: string): Promise<void> {
  const { logger } = capturingLogger();
  const config = parseConfig({
    upstream: { url: 'http://127.0.0.1:9' }, store: { path: join(dir, nodeId) },
    fleet: { postgres: { url }, nodeId, idleMs: 10, retentionDays: 0 },
  });
  const local = openAuditStore(config.store, logger);
  const tree = new TreeStore(local.env);
  const follower = new ChainFollower(local, tree, signers[nodeId]!, { pollMs: 10_000, checkpointIntervalMs: 0 }, logger);
  const fleet = openFleet(config, local, logger, { ships: true, registry: new Registry(), checkpoints: tree });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 7; i++) local.append(makeRecord({ organizationId: 'org-v', requestBody: [LARGE_BODY, SMALL_BODY][i] ?? null }));
    await local.flush();
    await follower.runOnce();
  }
  const signed = tree.latestCheckpoint()!.size;
  await eventually(() => local.position(FLEET_CHECKPOINTS) >= signed && fleet.shipper!.position() >= local.lastSeq(), 15_000);
  await fleet.store.close();
}

t.before(async () => {
  postgres = await startTestPostgres();
  url = await postgres.database();
  await runNode('node-a');
  await runNode('node-b');
  keysFile = join(dir, 'keys');
  writeFileSync(keysFile, Object.entries(signers).map(([node, key]) => `${node} ${verifierKeyText(key)}  # ${node}'s key`).join('\n'));
});
t.teardown(async () => {
  await postgres.close();
  rmSync(dir, { recursive: true, force: true });
});

function verify(...extra: string[]) {
  return runCli(['verify', '--fleet', '--public-keys', keysFile, ...extra], { AUDIT_PROXY_FLEET_POSTGRES_URL: url });
}

async function sql(text: string): Promise<void> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** Applies a change, runs verify, and undoes the change (each tamper test starts from the intact fleet). */
async function tampered(t: Test, change: string, undo: string) {
  await sql(change);
  t.teardown(() => sql(undo));
  return verify();
}

t.test('an intact fleet of two proxies verifies', async (t) => {
  const run = verify();
  t.equal(run.status, 0, run.stdout + run.stderr);
  t.equal(run.stdout, '');
  t.match(run.stderr, /intact: 2 nodes, 42 records, 6 checkpoints, 0 shipped without stored bytes/);
});

t.test('a row\'s bytes altered in PostgreSQL are named: the node and the seq range its checkpoint covers', async (t) => {
  const flip = "UPDATE audit_records SET stored = set_byte(stored, 20, get_byte(stored, 20) # 1) WHERE node_id = 'node-a' AND seq = 10";
  const run = await tampered(t, flip, flip);
  t.equal(run.status, 1);
  t.match(run.stdout, /^node node-a seq 8\.\.14: changed: the shipped records do not hash to the root the node signed at tree size 14/);
  t.equal(run.stdout.trim().split('\n').length, 1, 'one line: later checkpoints are not reported again');
});

t.test('a deleted row is named missing, with its seq', async (t) => {
  await sql("CREATE TABLE deleted AS SELECT * FROM audit_records WHERE node_id = 'node-b' AND seq = 3");
  const run = await tampered(t, "DELETE FROM audit_records WHERE node_id = 'node-b' AND seq = 3",
    'INSERT INTO audit_records SELECT * FROM deleted; DROP TABLE deleted');
  t.equal(run.status, 1);
  t.match(run.stdout, /^node node-b seq 3\.\.3: missing: no row in PostgreSQL/m);
  t.match(run.stderr, /node node-b: 3 checkpoints past seq 21 not rechecked: seq 3 is missing/);
});

t.test('a deleted tail that a checkpoint covers is missing', async (t) => {
  await sql("CREATE TABLE tail AS SELECT * FROM audit_records WHERE node_id = 'node-a' AND seq > 19");
  const run = await tampered(t, "DELETE FROM audit_records WHERE node_id = 'node-a' AND seq > 19", 'INSERT INTO audit_records SELECT * FROM tail; DROP TABLE tail');
  t.equal(run.status, 1);
  t.match(run.stdout, /^node node-a seq 20\.\.21: missing: signed at tree size 21, no row in PostgreSQL/m);
});

t.test('a row inserted under an existing seq is named inserted', async (t) => {
  const run = await tampered(t,
    "INSERT INTO audit_records SELECT organization_id, created_at, id || 'x', node_id, seq, request_id, api_key_id, service_account_id, user_id,"
    + ' status_code, method, path, principal_type, workspace_id, resource_type, action, client_ip, country, record, stored'
    + " FROM audit_records WHERE node_id = 'node-a' AND seq = 4",
    "DELETE FROM audit_records WHERE node_id = 'node-a' AND id LIKE '%x'");
  t.equal(run.status, 1);
  t.match(run.stdout, /^node node-a seq 4 id \S+x: inserted: a second row claims this seq/m);
});

for (const [seq, kind] of [[1, 'stored apart in the node\'s LMDB'], [2, 'inside its record']] as const) {
  t.test(`a body ${kind}, changed in a row's record (which nothing signs), is named changed`, async (t) => {
    await sql(`CREATE TABLE original${seq} AS SELECT id, record FROM audit_records WHERE node_id = 'node-b' AND seq = ${seq}`);
    const edit = "jsonb_set(record::jsonb, '{requestBody}', to_jsonb(replace(record->>'requestBody', 'l', 'L')))::json";
    const run = await tampered(t, `UPDATE audit_records SET record = ${edit} WHERE node_id = 'node-b' AND seq = ${seq}`,
      `UPDATE audit_records r SET record = o.record FROM original${seq} o WHERE r.id = o.id; DROP TABLE original${seq}`);
    t.equal(run.status, 1);
    t.match(run.stdout, new RegExp(`^node node-b seq ${seq} id \\S+: changed: its requestBody is not the body its stored bytes hold or name$`, 'm'));
    t.equal(run.stdout.trim().split('\n').length, 1, 'the leaves are intact');
  });
}

t.test('a forged checkpoint is named: signature bad', async (t) => {
  const forger = parseSignerKey(generateSignerKey('a.example/log'));
  const forged = signNote('a.example/log\n21\n' + Buffer.alloc(32, 7).toString('base64') + '\n', forger).replaceAll("'", "''");
  await sql("CREATE TABLE genuine AS SELECT * FROM audit_checkpoints WHERE node_id = 'node-a' AND tree_size = 21");
  const run = await tampered(t, `UPDATE audit_checkpoints SET note = '${forged}' WHERE node_id = 'node-a' AND tree_size = 21`,
    "UPDATE audit_checkpoints c SET note = g.note FROM genuine g WHERE c.node_id = g.node_id AND c.tree_size = g.tree_size; DROP TABLE genuine");
  t.equal(run.status, 1);
  t.match(run.stdout, /^node node-a checkpoint at tree size 21: checkpoint signature bad/m);
  t.equal(run.stdout.trim().split('\n').length, 1);
});

t.test('rows shipped before their stored bytes are reported unverifiable, not tampered', async (t) => {
  const client = new pg.Client(url);
  await client.connect();
  t.teardown(() => client.end());
  await client.query("CREATE TABLE kept AS SELECT id, stored FROM audit_records WHERE node_id = 'node-b' AND seq <= 2");
  const run = await tampered(t, "UPDATE audit_records SET stored = NULL WHERE node_id = 'node-b' AND seq <= 2",
    'UPDATE audit_records r SET stored = k.stored FROM kept k WHERE r.id = k.id; DROP TABLE kept');
  t.equal(run.status, 0, run.stdout);
  t.match(run.stderr, /2 shipped without stored bytes \(unverifiable\)/);
});

t.test('verify --fleet needs keys; a node without one is a problem; a bad key file is one line', async (t) => {
  const none = runCli(['verify', '--fleet'], { AUDIT_PROXY_FLEET_POSTGRES_URL: url });
  t.not(none.status, 0);
  t.match(none.stderr, /verify --fleet needs --public-key FILE/);
  const onlyA = join(dir, 'only-a');
  writeFileSync(onlyA, `node-a ${verifierKeyText(signers['node-a']!)}\n`);
  const partial = runCli(['verify', '--fleet', '--public-keys', onlyA], { AUDIT_PROXY_FLEET_POSTGRES_URL: url });
  t.equal(partial.status, 1);
  t.match(partial.stdout, /^node node-b: no public key given for it/m);
  const single = runCli(['verify', '--fleet', '--public-key', join(dir, 'single')], { AUDIT_PROXY_FLEET_POSTGRES_URL: url });
  t.not(single.status, 0);
  t.match(single.stderr, /--public-key: cannot read/);
  writeFileSync(join(dir, 'single'), verifierKeyText(signers['node-a']!));
  const wrongForB = runCli(['verify', '--fleet', '--public-key', join(dir, 'single')], { AUDIT_PROXY_FLEET_POSTGRES_URL: url });
  t.equal(wrongForB.status, 1);
  t.match(wrongForB.stdout, /^node node-b checkpoint at tree size 7: checkpoint signature bad/m);
  writeFileSync(join(dir, 'bad-keys'), 'node-a\n');
  const bad = runCli(['verify', '--fleet', '--public-keys', join(dir, 'bad-keys')], { AUDIT_PROXY_FLEET_POSTGRES_URL: url });
  t.not(bad.status, 0);
  t.match(bad.stderr, /--public-keys line 1: expected "<node id> <public key>"/);
  t.equal(bad.stderr.trim().split('\n').length, 1);
});
