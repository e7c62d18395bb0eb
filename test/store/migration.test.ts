// Schema 1 -> 2 (index postings), on a store written by version 1 (test/store/fixtures/v1-store, see make-v1-store.ts).
import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { open } from 'lmdb';
import { openAuditStore, SCHEMA_VERSION } from '../../src/store/index.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { BASE_MS, capturingLogger, checkConsistency, ids, makeRecord, storeConfig } from './fixtures/helpers.js';
import { v1FixtureRecords } from './fixtures/v1-records.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/v1-store', import.meta.url));

function v1Copy(path: string): string {
  cpSync(FIXTURE, path, { recursive: true });
  return path;
}

/** The fixture's records as version 1 stored them: with their commit seq, 1..40 in append order. */
const stored = (): AuditRecord[] => v1FixtureRecords().map((record, i) => ({ ...record, seq: i + 1 }));
const newestFirst = (records: AuditRecord[]) => [...records].sort((a, b) => b.createdAt.localeCompare(a.createdAt));

t.test('opening a version 1 store migrates it: every query answers as before, records and log untouched', async (t) => {
  const path = v1Copy(t.testdir());
  const before = open({ path, noSubdir: false, maxDbs: 32, readOnly: true });
  const v1Log = before.openDB({ name: 'log' });
  // Opened before the scan: a read-only openDB starts a fresh read transaction, which ended the scan's once in CI (MDB_BAD_TXN).
  const v1Records = before.openDB({ name: 'records' });
  const v1Bytes = Array.from(v1Log.getRange({ start: 1 }), ({ value }) => Buffer.from(v1Records.getBinary(value)!));
  await before.close();
  t.equal(v1Bytes.length, 40, 'the fixture holds 40 logged records');

  const { logger, lines } = capturingLogger();
  const store = openAuditStore(storeConfig(path, { retention: { maxAgeDays: 0 } }), logger);
  t.match(lines.find((l) => l.msg === 'audit store migrated from schema version 1 to 2 (index postings, batched commit log)'), { records: 40 });
  const records = stored();
  t.same((await store.query({}, { limit: 100 })).items, newestFirst(records), 'every record, newest first, unchanged');
  const byOrg = (org: string) => newestFirst(records.filter((r) => r.organizationId === org));
  t.same((await store.query({ organizationId: 'org-1' }, { limit: 100 })).items, byOrg('org-1'));
  t.same(ids((await store.query({ organizationId: 'org-0', method: 'post' }, { limit: 100 })).items),
    ids(byOrg('org-0').filter((r) => r.method === 'POST')), 'an organization + field posting');
  t.equal((await store.query({ organizationId: 'org-1', apiKeyId: 'key-1' }, { limit: 1, withTotal: true })).total,
    records.filter((r) => r.organizationId === 'org-1' && r.apiKeyId === 'key-1').length, 'counts');
  t.same(ids((await store.query({ organizationId: '', statusCode: 500 }, { limit: 100 })).items),
    ids(newestFirst(records.filter((r) => r.organizationId === null && r.statusCode === 500))), 'records without an organization');
  t.same((await store.query({ organizationId: 'org-1', requestId: 'v1-req-13' }, { limit: 5 })).items.map((r) => r.requestBody), [records[13]!.requestBody]);

  t.same(store.readLog(0, 100).map((e) => e.bytes), v1Bytes, 'readLog returns the very bytes version 1 stored (Merkle leaves stay valid)');
  t.equal(store.position('chain'), 7, 'follower positions survive');
  t.equal(store.lastSeq(), 40);

  const fresh = makeRecord({ ms: BASE_MS + 100_000, organizationId: 'org-1', apiKeyId: 'key-1' });
  store.append(fresh);
  await store.flush();
  t.equal(fresh.seq, 41, 'new records continue the sequence');
  t.same((await store.query({ organizationId: 'org-1', apiKeyId: 'key-1' }, { limit: 1 })).items, [fresh]);
  await store.close();

  const env = open({ path, noSubdir: false, maxDbs: 32, readOnly: true });
  const meta = env.openDB({ name: 'meta' });
  t.equal(meta.get('schemaVersion'), SCHEMA_VERSION);
  t.equal(meta.get('migration:v2'), undefined, 'no migration progress is left behind');
  const names = Array.from(env.getKeys(), String);
  t.notOk(names.some((name) => name.startsWith('idx_org_') || name === 'log'), 'version 1 index and log databases are dropped');
  await env.close();
  t.same((await checkConsistency(path)).problems, [], 'every record sits in exactly its postings');

  const again = openAuditStore(storeConfig(path), capturingLogger().logger);
  t.equal((await again.query({}, { limit: 1, withTotal: true })).total, 41, 'a second open does not migrate again');
  await again.close();
});

t.test('a version 1 store opened read-only is refused with what to do', async (t) => {
  const path = v1Copy(t.testdir());
  t.throws(() => openAuditStore(storeConfig(path), capturingLogger().logger, { readOnly: true }), /schema version 1; open it read-write once/);
});

t.test('a migration interrupted after some chunks resumes where it stopped', async (t) => {
  const path = v1Copy(t.testdir());
  // A crash after the first chunk: progress says the first 10 records are done, their postings exist.
  const env = open({ path, noSubdir: false, maxDbs: 32 });
  const records = stored();
  const { PostingsBuilder } = await import('../../src/store/postings.js');
  const { openDbs } = await import('../../src/store/indexes.js');
  const dbs = openDbs(env);
  await env.transaction(() => {
    const postings = new PostingsBuilder(dbs);
    for (const record of records.slice(0, 10)) postings.add(record);
    postings.write(-1);
    const last = records[9]!;
    dbs.meta.put('migration:v2', { postings: [Date.parse(last.createdAt), last.id, 1], logSeq: 0 });
  });
  await env.close();
  const store = openAuditStore(storeConfig(path, { retention: { maxAgeDays: 0 } }), capturingLogger().logger);
  t.same((await store.query({ organizationId: 'org-0' }, { limit: 100 })).items, newestFirst(records.filter((r) => r.organizationId === 'org-0')));
  await store.close();
  t.same((await checkConsistency(path)).problems, [], 'no record was indexed twice or left out');
});
