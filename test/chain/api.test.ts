import t from 'tap';
import { leafHash, verifyConsistency, verifyInclusion } from '../../src/chain/merkle.js';
import { parseCheckpointNote, signedBy } from '../helpers/c2sp.js';
import { runCli } from '../helpers/cli.js';
import { KEY, contractGet, type ContractGet, sendTraffic, startFixture, type Answer, type Fixture } from '../api/fixtures/audit.js';

const CHECKPOINT = '/v1/audit-logs/checkpoint';
const PROOF = '/v1/audit-logs/proof';

let f: Fixture;
let get: ContractGet;
let beforeAnyRecord: Answer;
let publicKey: string;

/** The newest checkpoint once it covers every record committed so far. */
async function currentCheckpoint(): Promise<Answer> {
  await f.flush();
  const committed = f.proxy.services.store!.health().written;
  for (let tries = 0; ; tries++) {
    const answer = await get(CHECKPOINT);
    if (answer.status === 200 && answer.body.data.treeSize >= committed) return answer;
    if (tries > 200) throw new Error(`no checkpoint of ${committed} records`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

t.before(async () => {
  f = await startFixture({ chain: { pollMs: 20, checkpointIntervalMs: 100 } });
  get = await contractGet(f);
  beforeAnyRecord = await get(CHECKPOINT);
  await sendTraffic(f);
  publicKey = runCli(['chain', 'public-key', '--data-dir', f.proxy.dataDir]).stdout;
});
t.teardown(() => f.close());

t.test('the checkpoint: 404 before the first record, then a signed C2SP checkpoint to audit readers only', async (t) => {
  t.equal(beforeAnyRecord.status, 404);
  t.match(beforeAnyRecord.body.message, /no checkpoint yet/);
  t.equal((await f.get(CHECKPOINT)).status, 401);
  t.equal((await f.get(CHECKPOINT, KEY.aPlain)).status, 403);
  t.equal((await f.get(CHECKPOINT, KEY.aReader, 'POST')).status, 405);
  const answer = await currentCheckpoint();
  t.same(Object.keys(answer.body.data), ['checkpoint', 'origin', 'treeSize', 'rootHash']);
  const parsed = parseCheckpointNote(answer.body.data.checkpoint);
  t.equal(parsed.treeSize, answer.body.data.treeSize);
  t.equal(parsed.origin, answer.body.data.origin);
  t.equal(parsed.rootHash.toString('base64'), answer.body.data.rootHash);
  t.ok(signedBy(parsed, publicKey), 'signed by the key `chain public-key` prints');
  t.equal((await get(CHECKPOINT, '', KEY.aReader)).status, 200, 'audit:read is enough');
});

t.test('an inclusion proof verifies offline against the signed checkpoint', async (t) => {
  await currentCheckpoint();
  const mine = (await f.get('/v1/api-keys/requests?limit=3', KEY.aReader)).body.data.items[2];
  const answer = await get(PROOF, `id=${mine.id}`, KEY.aReader);
  t.equal(answer.status, 200, JSON.stringify(answer.body));
  const data = answer.body.data;
  t.same(Object.keys(data), ['id', 'leafIndex', 'leafHash', 'leaf', 'inclusionProof', 'checkpoint', 'origin', 'treeSize', 'rootHash']);
  const checkpoint = parseCheckpointNote(data.checkpoint);
  t.ok(signedBy(checkpoint, publicKey));
  const leaf = leafHash(Buffer.from(data.leaf, 'base64'));
  t.equal(leaf.toString('base64'), data.leafHash, 'the leaf hash is SHA-256(0x00 || stored bytes)');
  const proof = data.inclusionProof.map((h: string) => Buffer.from(h, 'base64'));
  t.ok(verifyInclusion(data.leafIndex, checkpoint.treeSize, leaf, proof, checkpoint.rootHash));
  t.notOk(verifyInclusion(data.leafIndex + 1, checkpoint.treeSize, leaf, proof, checkpoint.rootHash));
  const other = await get(PROOF, `id=${mine.id}`, KEY.bReader);
  t.equal(other.status, 404, 'another organization\'s record is not found, not forbidden');
  t.equal((await get(PROOF, 'id=no-such-record')).status, 404);
  const unknown = await get(PROOF, 'id=no-such-record', KEY.aReader);
  t.equal(unknown.status, 404, 'an unknown id is a 404 for an organization\'s reader too (it was a 500)');
  t.match(unknown.body.message, /no record no-such-record in the log/);
});

t.test('a consistency proof links an older checkpoint to the newest', async (t) => {
  const older = parseCheckpointNote((await currentCheckpoint()).body.data.checkpoint);
  for (let i = 0; i < 5; i++) await f.get('/more');
  const newer = parseCheckpointNote((await currentCheckpoint()).body.data.checkpoint);
  t.ok(newer.treeSize > older.treeSize);
  const answer = await get(PROOF, `from=${older.treeSize}&to=${newer.treeSize}`);
  t.equal(answer.status, 200);
  const proof = answer.body.data.consistencyProof.map((h: string) => Buffer.from(h, 'base64'));
  t.ok(verifyConsistency(older.treeSize, newer.treeSize, proof, older.rootHash, newer.rootHash));
  t.notOk(verifyConsistency(older.treeSize, newer.treeSize, proof, newer.rootHash, newer.rootHash));
  const same = await get(PROOF, `from=${older.treeSize}&to=${older.treeSize}`);
  t.same(same.body.data.consistencyProof, []);
});

t.test('bad proof parameters are refused with a message naming them', async (t) => {
  const size = (await currentCheckpoint()).body.data.treeSize as number;
  const cases: Array<[string, RegExp]> = [
    ['', /give either id, or both from and to/],
    ['id=x&from=1&to=2', /give either id, or both from and to/],
    ['from=1', /give either id, or both from and to/],
    ['from=0&to=1', /from must be an integer >= 1/],
    ['from=3&to=2', /from must not be greater than to/],
    [`from=1&to=${size + 1000}`, /to must be at most/],
    ['id=a&id=b', /id must be given at most once/],
    ['nope=1', /unknown parameter: nope/],
  ];
  for (const [query, message] of cases) {
    const answer = await get(PROOF, query);
    t.equal(answer.status, 400, query);
    t.match(answer.body.message, message, query);
  }
});

t.test('with the log disabled, its endpoints say so', async (t) => {
  const off = await startFixture({ chain: { enabled: false } });
  t.teardown(() => off.close());
  for (const path of [CHECKPOINT, `${PROOF}?from=1&to=1`]) {
    const answer = await off.get(path, KEY.admin);
    t.equal(answer.status, 503);
    t.match(answer.body.message, /chain.enabled is false/);
  }
});
