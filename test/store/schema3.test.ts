// Schema 2 -> 3 (compact positions), on a store written by version 2 (test/store/fixtures/v2-store, see
// make-v2-store.ts): its wide values are read as they are, nothing is rewritten, new batches are packed compactly.
import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { open, type RootDatabase } from 'lmdb';
import { openAuditStore, SCHEMA_VERSION } from '../../src/store/index.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { BASE_MS, capturingLogger, checkConsistency, ids, makeRecord, storeConfig } from './fixtures/helpers.js';
import { v1FixtureRecords } from './fixtures/v1-records.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/v2-store', import.meta.url));
const COMPACT_BIT = 0x80;

function v2Copy(path: string): string {
  cpSync(FIXTURE, path, { recursive: true });
  return path;
}

const stored = (): AuditRecord[] => v1FixtureRecords().map((record, i) => ({ ...record, seq: i + 1 }));
const newestFirst = (records: AuditRecord[]) => [...records].sort((a, b) => b.createdAt.localeCompare(a.createdAt));

function rawEnv(path: string, readOnly = true): RootDatabase {
  return open({ path, noSubdir: false, maxDbs: 32, readOnly });
}

/** Whether each commit-log batch value is packed compactly (top bit of its leading uint32), by first seq. */
async function logLayouts(path: string): Promise<Record<number, boolean>> {
  const env = rawEnv(path);
  const log = env.openDB<Buffer, number>({ name: 'log_batches', encoding: 'binary' });
  const layouts = Object.fromEntries(Array.from(log.getRange({}), ({ key, value }) => [key, (value[3]! & COMPACT_BIT) !== 0]));
  await env.close();
  return layouts;
}

t.test('a version 2 store is read as it is, read-only and read-write; new batches are compact', async (t) => {
  const path = v2Copy(t.testdir());
  const env = rawEnv(path);
  const leaves = Array.from(env.openDB<Buffer, number>({ name: 'log_batches', encoding: 'binary' }).getKeys(), Number);
  await env.close();
  t.same(leaves, [1, 17, 33], 'the fixture holds three wide batches');
  t.same(Object.values(await logLayouts(path)), [false, false, false]);
  const records = stored();

  const reader = openAuditStore(storeConfig(path), capturingLogger().logger, { readOnly: true });
  t.same((await reader.query({}, { limit: 100 })).items, newestFirst(records), 'read-only: every record, newest first');
  const bytes = reader.readLog(0, 100).map((entry) => entry.bytes);
  t.equal(bytes.length, 40);
  await reader.close();

  const store = openAuditStore(storeConfig(path, { retention: { maxAgeDays: 0 } }), capturingLogger().logger);
  t.same((await store.query({ organizationId: 'org-1' }, { limit: 100 })).items, newestFirst(records.filter((r) => r.organizationId === 'org-1')));
  t.same(ids((await store.query({ organizationId: 'org-0', method: 'post' }, { limit: 100 })).items),
    ids(newestFirst(records.filter((r) => r.organizationId === 'org-0' && r.method === 'POST'))), 'an organization + field posting');
  t.same((await store.query({ organizationId: 'org-1', requestId: 'v1-req-13' }, { limit: 5 })).items.map((r) => r.id), [records[13]!.id]);
  t.same(store.readLog(0, 100).map((entry) => entry.bytes), bytes, 'the very bytes version 2 stored (Merkle leaves stay valid)');
  const visited: number[] = [];
  store.visitLog(15, 18, (seq) => visited.push(seq));
  t.same(visited, [15, 16, 17, 18], 'visitLog across a batch boundary');
  t.equal(store.position('chain'), 7, 'follower positions survive');

  const fresh = makeRecord({ ms: BASE_MS + 100_000, organizationId: 'org-1', apiKeyId: 'key-1' });
  store.append(fresh);
  await store.flush();
  t.equal(fresh.seq, 41, 'new records continue the sequence');
  t.same((await store.query({ organizationId: 'org-1', apiKeyId: 'key-1' }, { limit: 1 })).items, [fresh]);
  t.same(store.readLog(40, 10).map((entry) => entry.id), [fresh.id]);
  await store.close();

  t.same(await logLayouts(path), { 1: false, 17: false, 33: false, 41: true }, 'old batches untouched, the new one compact');
  const after = rawEnv(path);
  t.equal(after.openDB({ name: 'meta' }).get('schemaVersion'), SCHEMA_VERSION);
  t.equal(SCHEMA_VERSION, 6);
  await after.close();
  t.same((await checkConsistency(path)).problems, [], 'every record sits in exactly its postings');
});

t.test('retention removes records from wide postings and batches of a version 2 store', async (t) => {
  const path = v2Copy(t.testdir());
  const store = openAuditStore(storeConfig(path, { retention: { maxAgeDays: 0, maxRecords: 25, batchSize: 4 } }), capturingLogger().logger);
  t.teardown(() => store.close());
  t.equal(await store.pruneNow(), 15, 'the 15 oldest');
  const kept = newestFirst(stored()).slice(0, 25);
  t.same(ids((await store.query({}, { limit: 100 })).items), ids(kept));
  t.same(store.readLog(0, 100).map((entry) => entry.seq), kept.map((r) => r.seq).sort((a, b) => a! - b!));
  t.equal(store.lastSeq(), 40);
  await store.close();
  t.same((await checkConsistency(path)).problems, [], 'postings hold exactly the records left');
});
