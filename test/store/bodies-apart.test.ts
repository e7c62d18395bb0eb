import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Key } from 'lmdb';
import t from 'tap';
import type { AuditRecord } from '../../src/audit/record.js';
import type { AppendedRecord } from '../../src/audit/raw-body.js';
import { BodyRedactor, REDACTED } from '../../src/audit/redact.js';
import { BodiesApart } from '../../src/store/bodies.js';
import { BodySweep } from '../../src/store/body-sweep.js';
import { openAuditStore, type LmdbAuditStore } from '../../src/store/index.js';
import { openDbs } from '../../src/store/indexes.js';
import { PooledReadStore } from '../../src/store/read-pool/readers-store.js';
import { collect } from '../helpers/collect.js';
import { BASE_MS, capturingLogger, checkAllBodies, checkConsistency, makeRecord, storeConfig, withRawBody } from './fixtures/helpers.js';

const DAY_MS = 86_400_000;
const json = (n: number, bytes: number) => JSON.stringify({ n, pad: 'x'.repeat(bytes - JSON.stringify({ n, pad: '' }).length) });
const BIG = json(1, 16_384);
const OTHER = json(2, 5_000);
/** store.bodiesApartBytes for the tests of its edge (the default is 4,096). */
const APART = 1024;
const sha256 = (text: string) => `sha256-${createHash('sha256').update(text).digest('base64')}`;

/** The store's body databases and the records' stored bytes, opened read-only as a reader beside it would. */
function rawView(path: string) {
  const env = open({ path, noSubdir: false, maxDbs: 32, readOnly: true });
  const dbs = openDbs(env);
  return {
    env,
    bodies: [...dbs.bodies!.bytes.getKeys({})].map((key) => `sha256-${(key as Buffer).toString('base64')}`).sort(),
    overflowPages: (dbs.bodies!.bytes.getStats() as { overflowPages: number }).overflowPages,
    stored: (record: AuditRecord) => dbs.records.getBinary([Date.parse(record.createdAt), record.id] as Key)!,
  };
}

async function bodiesOf(store: LmdbAuditStore): Promise<Array<[string | null, string | null]>> {
  const page = await store.query({}, { limit: 100 });
  return page.items.reverse().map((r) => [r.requestBody, r.responseBody]);
}

for (const writer of ['thread', 'inline'] as const) {
  t.test(`a body of store.bodiesApartBytes or more is stored once, apart from its records; every read puts it back (${writer} writer)`, async (t) => {
    const path = t.testdir();
    const store = openAuditStore(storeConfig(path, { writer, bodiesApartBytes: APART }), capturingLogger().logger);
    const edge = 'é'.repeat(APART / 2); // 1,024 bytes of UTF-8 in 512 characters
    const records = [
      makeRecord({ requestBody: BIG }),
      makeRecord({ requestBody: BIG, responseBody: OTHER }),
      makeRecord({ requestBody: '{"small":true}' }),
      makeRecord({ requestBody: edge.slice(1) + 'e' }), // 1,023 bytes: kept in the record
      makeRecord({ requestBody: edge }),
    ];
    for (const record of records) store.append(record);
    await store.flush();
    const expected = records.map((r) => [r.requestBody, r.responseBody]);
    t.same(await bodiesOf(store), expected, 'query');
    const iterated: AuditRecord[] = [];
    for await (const record of store.iterate({})) iterated.unshift(record);
    t.same(iterated.map((r) => [r.requestBody, r.responseBody]), expected, 'iterate (exports)');
    const followed = store.readRecords(0, 100);
    t.same(followed.map((r) => [r.requestBody, r.responseBody]), expected, 'readRecords (the fleet shipper)');
    for (const record of [...iterated, ...followed]) t.notOk('requestBodyRef' in record || 'responseBodyRef' in record, 'no reference shown');
    await store.close();

    const raw = rawView(path);
    t.same(raw.bodies, [sha256(BIG), sha256(OTHER), sha256(edge)].sort(), 'each distinct body once');
    t.ok(raw.stored(records[1]!).length < 1024, 'the record stays small');
    t.ok(raw.stored(records[1]!).includes(sha256(BIG)) && raw.stored(records[1]!).includes(sha256(OTHER)), 'and names its bodies');
    t.ok(raw.stored(records[3]!).includes(Buffer.from(records[3]!.requestBody!)), 'a body under the threshold stays in its record');
    t.equal(raw.overflowPages, 0, 'compressed: 16 KiB of JSON would take overflow pages as it is');
    await raw.env.close();
  });
}

t.test('a read that shows no body (the stats scan) leaves bodies stored apart unread', async (t) => {
  const path = t.testdir();
  const store = openAuditStore(storeConfig(path), capturingLogger().logger);
  store.append(makeRecord({ requestBody: BIG }));
  await store.flush();
  const [lean] = await collect(store.iterate({}, { withoutBodies: true }));
  t.equal(lean!.requestBody, null);
  t.notOk('requestBodyRef' in lean!, 'nor its reference');
  const page = await store.query({}, { limit: 5, withoutBodies: true });
  t.equal(page.items[0]!.requestBody, null);
  t.same(await bodiesOf(store), [[BIG, null]], 'every other read puts it back');
  await store.close();
  const config = storeConfig(path);
  const pooled = new PooledReadStore(openAuditStore(config, capturingLogger().logger), { store: config, size: 1, timeoutMs: 60_000, logger: capturingLogger().logger });
  t.same((await collect(pooled.iterate({}, { withoutBodies: true }))).map((r) => [r.requestBody, 'requestBodyRef' in r]), [[null, false]], 'through the reader threads');
  t.same((await collect(pooled.iterate({}))).map((r) => r.requestBody), [BIG]);
  await pooled.close();
});

t.test('a raw body is redacted before it is hashed and stored apart; the secret reaches no byte of the store', async (t) => {
  const path = t.testdir();
  const store = openAuditStore(storeConfig(path), capturingLogger().logger);
  const secret = 'hunter2-a1b2c3d4e5f6';
  const body = JSON.stringify({ password: secret, pad: 'y'.repeat(5_000) });
  // Unchanged by redaction: their raw bytes are what is stored, copied out of shared memory one after the other.
  const clean = [JSON.stringify({ name: 'zoë', pad: 'y'.repeat(5_000) }), JSON.stringify({ pad: 'z'.repeat(4_500) })];
  store.append(withRawBody(makeRecord(), body));
  for (const text of clean) store.append(withRawBody(makeRecord(), text));
  await store.flush();
  const records = (await store.query({}, { limit: 3 })).items;
  const redacted = body.replace(JSON.stringify(secret), `"${REDACTED}"`);
  t.same(records.map((r) => r.requestBody), [...clean].reverse().concat(redacted));
  const problems: string[] = [];
  t.same(checkAllBodies(store, (line) => problems.push(line)), { bodies: 3, references: 3, unreferenced: 0 });
  t.same(problems, [], 'each body hashes to its reference');
  await store.close();
  const raw = rawView(path);
  t.same(raw.bodies, [sha256(redacted), ...clean.map(sha256)].sort());
  await raw.env.close();
  t.notOk(readFileSync(join(path, 'data.mdb')).includes(secret));
});

t.test('retention frees a body with the last record that refers to it, and a late record brings it back', async (t) => {
  const path = t.testdir();
  const store = openAuditStore(storeConfig(path, { retention: { maxAgeDays: 10 } }), capturingLogger().logger);
  const hour = 3_600_000;
  const [a, b, c] = [0, 1, 2].map((i) => makeRecord({ ms: BASE_MS + i * hour, requestBody: i < 2 ? BIG : OTHER }));
  for (const record of [a!, b!, c!]) store.append(record);
  await store.flush();
  const prunedTo = async (ms: number) => {
    await store.pruneNow(ms + 10 * DAY_MS);
    const raw = rawView(path);
    const left = raw.bodies;
    await raw.env.close();
    return left;
  };
  t.same(await prunedTo(BASE_MS + hour / 2), [sha256(BIG), sha256(OTHER)].sort(), 'a newer record still refers to it');
  t.same(await bodiesOf(store), [[BIG, null], [OTHER, null]]);
  t.same(await prunedTo(BASE_MS + 1.5 * hour), [sha256(OTHER)], 'freed with its last record');
  const late = makeRecord({ ms: BASE_MS, requestBody: BIG }); // older than what retention already removed
  store.append(late);
  await store.flush();
  t.same(await bodiesOf(store), [[BIG, null], [OTHER, null]], 'stored again for it');
  t.same(await prunedTo(BASE_MS + 3 * hour), [], 'and freed with it');
  await store.close();
  t.same((await checkConsistency(path)).problems, []);
});

t.test('retention frees the bodies no record can refer to any more, once it has passed their newest reference', async (t) => {
  const path = t.testdir();
  let store = openAuditStore(storeConfig(path, { retention: { maxAgeDays: 10 } }), capturingLogger().logger);
  const hour = 3_600_000;
  store.append(makeRecord({ ms: BASE_MS, requestBody: BIG }));
  store.append(makeRecord({ ms: BASE_MS + 2 * hour, requestBody: OTHER }));
  await store.close();
  // Left behind as a dead writer thread's dropped batch leaves them: a body whose record never came, with or
  // without the position of that record; and one whose record would be newer than what retention will remove.
  const orphan = (n: number) => json(100 + n, 5_000);
  const env = open({ path, noSubdir: false, maxDbs: 32 });
  const { bodies } = openDbs(env);
  const digest = (text: string) => createHash('sha256').update(text).digest();
  await bodies!.bytes.put(digest(orphan(1)), Buffer.from(orphan(1)));
  await bodies!.uses.put(digest(orphan(1)), [BASE_MS + hour, 'never-committed']);
  await bodies!.bytes.put(digest(orphan(2)), Buffer.from(orphan(2)));
  await bodies!.bytes.put(digest(orphan(3)), Buffer.from(orphan(3)));
  await bodies!.uses.put(digest(orphan(3)), [BASE_MS + 3 * hour, 'never-committed']);
  await env.close();
  store = openAuditStore(storeConfig(path, { retention: { maxAgeDays: 10 } }), capturingLogger().logger);
  t.same(checkAllBodies(store, () => undefined), { bodies: 5, references: 2, unreferenced: 3 });
  await store.pruneNow(BASE_MS + hour + 10 * DAY_MS);
  const raw = rawView(path);
  t.same(raw.bodies, [sha256(OTHER), sha256(orphan(3))].sort(), 'freed: the removed record\'s body and the two no record kept can refer to');
  await raw.env.close();
  t.same(await bodiesOf(store), [[OTHER, null]]);
  t.same(checkAllBodies(store, () => undefined), { bodies: 2, references: 1, unreferenced: 1 });
  await store.pruneNow(BASE_MS + 4 * hour + 10 * DAY_MS);
  t.same(checkAllBodies(store, () => undefined), { bodies: 0, references: 0, unreferenced: 0 }, 'the last one once retention passed it');
  await store.close();
  t.same((await checkConsistency(path)).problems, []);
});

t.test('the sweep of bodies left behind resumes where its last pass stopped and starts over at the end', async (t) => {
  const path = t.testdir();
  let store = openAuditStore(storeConfig(path), capturingLogger().logger);
  store.append(makeRecord({ ms: BASE_MS + 3_600_000 }));
  await store.close();
  const env = open({ path, noSubdir: false, maxDbs: 32 });
  const dbs = openDbs(env);
  const digest = (text: string) => createHash('sha256').update(text).digest();
  // In key order: three bodies whose newest reference is newer than the oldest record (kept), then three with none.
  const orphans = Array.from({ length: 6 }, (_, n) => json(200 + n, 5_000)).sort((a, b) => Buffer.compare(digest(a), digest(b)));
  for (const [n, text] of orphans.entries()) {
    await dbs.bodies!.bytes.put(digest(text), Buffer.from(text));
    if (n < 3) await dbs.bodies!.uses.put(digest(text), [BASE_MS + 7_200_000, 'in-flight']);
  }
  const sweep = new BodySweep(env, dbs);
  t.equal(await sweep.pass(3), 0, 'the first three are kept');
  t.equal(await sweep.pass(3), 3, 'the next pass goes on from there');
  t.equal(await sweep.pass(3), 0, 'the end');
  t.same([...dbs.bodies!.bytes.getKeys({})].map((key) => Buffer.from(key as Buffer).toString('hex')), orphans.slice(0, 3).map((text) => digest(text).toString('hex')));
  await dbs.bodies!.uses.put(digest(orphans[0]!), [BASE_MS, 'removed-since']);
  t.equal(await sweep.pass(3), 1, 'started over');
  await env.close();
  store = openAuditStore(storeConfig(path), capturingLogger().logger);
  t.same(checkAllBodies(store, () => undefined), { bodies: 2, references: 0, unreferenced: 2 });
  await store.close();
});

t.test('a record written with its body inside (schema 5) still reads whole; the check passes over it', async (t) => {
  const path = t.testdir();
  openAuditStore(storeConfig(path), capturingLogger().logger).close();
  const old = makeRecord({ requestBody: BIG });
  const env = open({ path, noSubdir: false, maxDbs: 32 });
  await openDbs(env).records.put([Date.parse(old.createdAt), old.id], old);
  await env.close();
  const store = openAuditStore(storeConfig(path), capturingLogger().logger);
  t.same(await bodiesOf(store), [[BIG, null]]);
  const problems: string[] = [];
  t.same(checkAllBodies(store, (line) => problems.push(line)), { bodies: 0, references: 0, unreferenced: 0 });
  t.same(problems, []);
  await store.close();
});

t.test('settle: raw bodies decoded and redacted in place, large ones swapped for references, the appended record untouched', async (t) => {
  const apart = new BodiesApart(new BodyRedactor(['password']), 4_096);
  const appended: AppendedRecord = withRawBody(makeRecord({ responseBody: OTHER }), '{"password":"hunter2"}');
  const stored = apart.settle(appended);
  t.equal(stored.requestBody, `{"password":"${REDACTED}"}`);
  t.same([stored.responseBody, stored.responseBodyRef], [null, sha256(OTHER)]);
  t.notOk('rawBodies' in stored);
  t.same(Object.keys(stored), [...Object.keys(makeRecord()), 'responseBodyRef'], 'the fields in their order, the reference last');
  t.same([appended.responseBody, appended.responseBodyRef, appended.requestBody], [OTHER, undefined, null], 'a retry writes the batch again as it was');
  const plain = makeRecord({ requestBody: '{"small":true}' });
  t.equal(apart.settle(plain), plain, 'nothing to change: the record itself');
});

t.test('a reference that is not one (a store edited by hand) reads as no body and is a problem for verify, not a crash', async (t) => {
  const path = t.testdir();
  const written = openAuditStore(storeConfig(path), capturingLogger().logger);
  const edited = [makeRecord(), makeRecord()];
  for (const record of edited) written.append(record);
  await written.close();
  const env = open({ path, noSubdir: false, maxDbs: 32 });
  const { records } = openDbs(env);
  const refs = [{ requestBodyRef: 'sha256-' }, { responseBodyRef: 'sha256-not base64 at all' }];
  for (const [i, record] of edited.entries()) {
    const key = [Date.parse(record.createdAt), record.id];
    await records.put(key, { ...records.get(key)!, ...refs[i] });
  }
  await env.close();
  const store = openAuditStore(storeConfig(path), capturingLogger().logger);
  t.same(await bodiesOf(store), [[null, null], [null, null]]);
  const problems: string[] = [];
  t.same(checkAllBodies(store, (line) => problems.push(line)), { bodies: 0, references: 2, unreferenced: 0 });
  t.same(problems, [
    `record ${edited[0]!.id}: requestBodyRef is not a body reference: "sha256-"`,
    `record ${edited[1]!.id}: responseBodyRef is not a body reference: "sha256-not base64 at all"`,
  ]);
  await store.close();
});

t.test('a body no record refers to is counted as left behind, not reported as tampering', async (t) => {
  const path = t.testdir();
  let store = openAuditStore(storeConfig(path), capturingLogger().logger);
  store.append(makeRecord({ requestBody: BIG }));
  await store.close();
  const env = open({ path, noSubdir: false, maxDbs: 32 });
  await openDbs(env).bodies!.bytes.put(createHash('sha256').update(OTHER).digest(), Buffer.from(OTHER)); // as a dead writer thread's
  await env.close();
  store = openAuditStore(storeConfig(path), capturingLogger().logger);
  const problems: string[] = [];
  t.same(checkAllBodies(store, (line) => problems.push(line)), { bodies: 2, references: 1, unreferenced: 1 });
  t.same(problems, []);
  await store.close();
});

t.test('store.bodiesApartBytes: 4,096 by default; 0 keeps every body in its record', async (t) => {
  for (const [settings, apart] of [[{}, [sha256(BIG), sha256(OTHER)]], [{ bodiesApartBytes: 0 }, []]] as const) {
    const path = t.testdir();
    const store = openAuditStore(storeConfig(path, settings), capturingLogger().logger);
    const small = json(3, 4_095);
    for (const body of [BIG, OTHER, small]) store.append(makeRecord({ requestBody: body }));
    await store.flush();
    t.same(await bodiesOf(store), [[BIG, null], [OTHER, null], [small, null]]);
    await store.close();
    const raw = rawView(path);
    t.same(raw.bodies, [...apart].sort(), JSON.stringify(settings));
    await raw.env.close();
  }
});
