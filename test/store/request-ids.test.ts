// Timed (UUIDv7) request ids (schema 4): posted per batch under the second each id names instead of one posting per
// id; found by the requestId filter with ranges, cursors and totals; removed by retention; and a version 3 store
// (test/store/fixtures/v3-store, written by cab538b, see make-v3-store.ts) read as it is beside new records.
import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { open } from 'lmdb';
import { openAuditStore, SCHEMA_VERSION } from '../../src/store/index.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { BASE_MS, capturingLogger, checkConsistency, ids, makeRecord, storeConfig } from './fixtures/helpers.js';
import { SHARED_REQUEST_ID, timedRequestId, v3FixtureRecords } from './fixtures/v3-records.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/v3-store', import.meta.url));

/** Entries of one of the store's databases, read directly. */
async function entries(path: string, name: string): Promise<number> {
  const env = open({ path, noSubdir: false, maxDbs: 32, readOnly: true });
  const count = env.openDB({ name, encoding: 'binary' })?.getKeysCount() ?? 0;
  await env.close();
  return count;
}

t.test('records with timed request ids are found by them, with ranges, cursors and totals', async (t) => {
  const path = t.testdir();
  const store = openAuditStore(storeConfig(path, { batchMax: 7 }), capturingLogger().logger);
  const records: AuditRecord[] = [];
  for (let i = 0; i < 30; i++) {
    const ms = BASE_MS + i * 300;
    records.push(makeRecord({ ms, requestId: timedRequestId(ms, i), organizationId: `org-${i % 2}` }));
  }
  // A client retrying with its own UUIDv7: three records, two organizations, seconds apart from what the id names.
  const retried = timedRequestId(BASE_MS + 1_000, 999);
  const retries = [BASE_MS + 20_000, BASE_MS + 21_000, BASE_MS + 22_000].map((ms, i) => makeRecord({ ms, requestId: retried, organizationId: i < 2 ? 'org-0' : 'org-1' }));
  for (const record of [...records, ...retries]) store.append(record);
  await store.flush();

  for (const record of [records[0]!, records[13]!, records[29]!]) {
    const page = await store.query({ organizationId: record.organizationId!, requestId: record.requestId }, { limit: 5, withTotal: true });
    t.same(ids(page.items), [record.id], `request ${record.requestId}`);
    t.equal(page.total, 1);
  }
  t.same(ids((await store.query({ organizationId: 'org-0', requestId: records[13]!.requestId }, { limit: 5 })).items), [], 'another organization\'s request');
  t.same(ids((await store.query({ organizationId: 'org-0', requestId: timedRequestId(BASE_MS, 12345) }, { limit: 5 })).items), [], 'an id no record has');

  const first = await store.query({ organizationId: 'org-0', requestId: retried }, { limit: 1, withTotal: true });
  t.same(ids(first.items), [retries[1]!.id], 'newest first');
  t.equal(first.total, 2);
  const second = await store.query({ organizationId: 'org-0', requestId: retried }, { limit: 1, cursor: first.nextCursor! });
  t.same(ids(second.items), [retries[0]!.id], 'the cursor continues after the first page');
  t.equal(second.nextCursor, null);
  t.same(ids((await store.query({ organizationId: 'org-0', requestId: retried, toMs: BASE_MS + 20_500 }, { limit: 5 })).items), [retries[0]!.id], 'toMs');
  t.same(ids((await store.query({ organizationId: 'org-0', requestId: retried, fromMs: BASE_MS + 20_500 }, { limit: 5 })).items), [retries[1]!.id], 'fromMs');
  t.same(ids((await store.query({ organizationId: 'org-0', requestId: retried, statusCode: 500 }, { limit: 5 })).items), [], 'a residual filter');
  t.same(ids((await store.query({ organizationId: 'org-0', requestId: retried, path: '/v1/things' }, { limit: 5, withTotal: true })).items).length, 2);
  await store.close();

  t.equal(await entries(path, 'post_org_requestId'), 0, 'no posting of their own');
  t.ok(await entries(path, 'post_org_request_time') < 25, 'a posting per batch, organization and second: fewer than one per record');
  t.same((await checkConsistency(path)).problems, [], 'every record sits in exactly its postings');
});

t.test('other request ids keep their own posting', async (t) => {
  const path = t.testdir();
  const store = openAuditStore(storeConfig(path), capturingLogger().logger);
  const upper = makeRecord({ requestId: timedRequestId(BASE_MS, 1).toUpperCase() });
  const plain = makeRecord({ requestId: 'client-chosen-1' });
  store.append(upper);
  store.append(plain);
  await store.flush();
  t.same(ids((await store.query({ organizationId: 'org-a', requestId: upper.requestId }, { limit: 5 })).items), [upper.id]);
  t.same(ids((await store.query({ organizationId: 'org-a', requestId: 'client-chosen-1' }, { limit: 5 })).items), [plain.id]);
  await store.close();
  t.equal(await entries(path, 'post_org_requestId'), 2);
  t.equal(await entries(path, 'post_org_request_time'), 0);
});

t.test('retention takes removed records out of the timed request-id postings', async (t) => {
  const path = t.testdir();
  const store = openAuditStore(storeConfig(path, { batchMax: 5, retention: { maxAgeDays: 0, maxRecords: 8, batchSize: 3 } }), capturingLogger().logger);
  const records = Array.from({ length: 20 }, (_, i) => {
    const ms = BASE_MS + i * 100;
    return makeRecord({ ms, requestId: timedRequestId(ms, i) });
  });
  for (const record of records) store.append(record);
  await store.flush();
  t.equal(await store.pruneNow(), 12);
  t.same(ids((await store.query({ organizationId: 'org-a', requestId: records[3]!.requestId }, { limit: 5 })).items), [], 'a removed record');
  t.same(ids((await store.query({ organizationId: 'org-a', requestId: records[15]!.requestId }, { limit: 5 })).items), [records[15]!.id], 'a kept one');
  await store.close();
  t.same((await checkConsistency(path)).problems, [], 'no posting names a removed record');
});

t.test('a version 3 store is read as it is; its per-id postings of timed ids are read beside the new ones', async (t) => {
  const path = t.testdir();
  cpSync(FIXTURE, path, { recursive: true });
  const records = v3FixtureRecords().map((record, i) => ({ ...record, seq: i + 1 }));
  t.equal(await entries(path, 'post_org_request_time'), 0, 'the fixture has no batch postings of request ids');

  const reader = openAuditStore(storeConfig(path), capturingLogger().logger, { readOnly: true });
  t.same((await reader.query({ organizationId: 'org-0', requestId: records[2]!.requestId }, { limit: 5 })).items, [records[2]], 'read-only, as written by version 3');
  await reader.close();

  const store = openAuditStore(storeConfig(path, { retention: { maxAgeDays: 0 } }), capturingLogger().logger);
  t.same((await store.query({ organizationId: 'org-0', requestId: records[4]!.requestId }, { limit: 5 })).items, [records[4]]);
  t.same((await store.query({ organizationId: 'org-1', requestId: records[3]!.requestId }, { limit: 5 })).items, [records[3]], 'an id of another kind');
  const again = makeRecord({ ms: BASE_MS + 100_000, organizationId: 'org-0', requestId: SHARED_REQUEST_ID });
  store.append(again);
  await store.flush();
  const shared = await store.query({ organizationId: 'org-0', requestId: SHARED_REQUEST_ID }, { limit: 5, withTotal: true });
  t.same(ids(shared.items), [again.id, records[8]!.id, records[6]!.id], 'old and new records of one request id, newest first');
  t.equal(shared.total, 3);
  t.equal(store.position('chain'), 9, 'follower positions survive');
  await store.close();

  const env = open({ path, noSubdir: false, maxDbs: 32, readOnly: true });
  t.equal(env.openDB({ name: 'meta' }).get('schemaVersion'), SCHEMA_VERSION);
  t.equal(SCHEMA_VERSION, 6);
  await env.close();
  t.same((await checkConsistency(path)).problems, [], 'every record sits in exactly its postings');
});

t.test('migrating a version 1 store posts its timed request ids per chunk', async (t) => {
  const path = t.testdir();
  // Version 1 as the migration reads it: `records` as today, a `log` entry [ms, id] per seq, schema 1 in `meta`.
  const env = open({ path, noSubdir: false, maxDbs: 32 });
  const records = v3FixtureRecords().map((record, i) => ({ ...record, seq: i + 1 }));
  const stored = env.openDB<AuditRecord, (string | number)[]>({ name: 'records', sharedStructuresKey: Symbol.for('structures') });
  const log = env.openDB<(string | number)[], number>({ name: 'log' });
  await env.transaction(() => {
    for (const record of records) {
      const ms = Date.parse(record.createdAt);
      void stored.put([ms, record.id], record);
      void log.put(record.seq, [ms, record.id]);
    }
    void env.openDB({ name: 'meta' }).put('schemaVersion', 1);
  });
  await env.close();

  const store = openAuditStore(storeConfig(path, { retention: { maxAgeDays: 0 } }), capturingLogger().logger);
  t.same((await store.query({ organizationId: 'org-0', requestId: records[4]!.requestId }, { limit: 5 })).items, [records[4]]);
  t.same(ids((await store.query({ organizationId: 'org-0', requestId: SHARED_REQUEST_ID }, { limit: 5 })).items), [records[8]!.id, records[6]!.id]);
  await store.close();
  t.equal(await entries(path, 'post_org_requestId'), 20, 'only the other ids have postings of their own');
  t.same((await checkConsistency(path)).problems, [], 'every record sits in exactly its postings');
});
