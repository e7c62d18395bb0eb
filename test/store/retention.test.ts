import t from 'tap';
import { openAuditStore } from '../../src/store/index.js';
import { openDbs } from '../../src/store/indexes.js';
import { BASE_MS, capturingLogger, checkConsistency, ids, makeRecord, storeConfig } from './fixtures/helpers.js';

const DAY_MS = 86_400_000;

t.test('retention by age removes old records with their index entries, in bounded batches', async (t) => {
  const path = t.testdir();
  const store = openAuditStore(storeConfig(path, { retention: { maxAgeDays: 10, batchSize: 7 } }), capturingLogger().logger);
  const old = Array.from({ length: 25 }, (_, i) => makeRecord({ ms: BASE_MS - 20 * DAY_MS + i, organizationId: i % 2 ? 'org-a' : null, userId: 'u' }));
  const fresh = Array.from({ length: 5 }, (_, i) => makeRecord({ ms: BASE_MS + i, organizationId: 'org-a', userId: 'u' }));
  [...old, ...fresh].forEach((record) => store.append(record));
  await store.flush();
  t.equal(await store.pruneNow(BASE_MS), 25);
  t.equal(await store.pruneNow(BASE_MS), 0, 'a second pass finds nothing');
  t.same(ids((await store.query({}, { limit: 100 })).items), ids(fresh).reverse());
  t.equal((await store.query({ organizationId: 'org-a', userId: 'u' }, { limit: 1, withTotal: true })).total, 5);
  await store.close();
  const { problems, records } = await checkConsistency(path);
  t.same(problems, []);
  t.equal(records, 5);
});

t.test('retention by maxRecords keeps the newest', async (t) => {
  const path = t.testdir();
  const store = openAuditStore(storeConfig(path, { retention: { maxAgeDays: 0, maxRecords: 12, batchSize: 5 } }), capturingLogger().logger);
  const records = Array.from({ length: 40 }, (_, i) => makeRecord({ ms: BASE_MS + i, apiKeyId: `k${i % 3}` }));
  records.forEach((record) => store.append(record));
  await store.flush();
  t.equal(await store.pruneNow(), 28);
  t.same(ids((await store.query({}, { limit: 100 })).items), ids(records.slice(28)).reverse());
  await store.close();
  const { problems, records: left } = await checkConsistency(path);
  t.same(problems, []);
  t.equal(left, 12);
});

t.test('the background timer prunes on its own', async (t) => {
  const store = openAuditStore(storeConfig(t.testdir(), { retention: { maxAgeDays: 1, intervalMs: 1000 } }), capturingLogger().logger);
  t.teardown(() => store.close());
  store.append(makeRecord({ ms: Date.now() - 3 * DAY_MS }));
  store.append(makeRecord({ ms: Date.now() }));
  await store.flush();
  t.equal((await store.query({}, { limit: 10, withTotal: true })).total, 2);
  await new Promise((resolve) => setTimeout(resolve, 1300));
  t.equal((await store.query({}, { limit: 10, withTotal: true })).total, 1);
});

t.test('consistency after writes: every record has its index entries and back', async (t) => {
  const path = t.testdir();
  const store = openAuditStore(storeConfig(path, { batchMax: 13 }), capturingLogger().logger);
  for (let i = 0; i < 200; i++) {
    store.append(makeRecord({ organizationId: i % 7 ? `org-${i % 4}` : null, apiKeyId: i % 2 ? 'k' : null, serviceAccountId: i % 2 ? null : 'sa', userId: i % 5 ? null : 'u', method: i % 3 ? 'get' : 'DELETE' }));
  }
  await store.close();
  const { problems, records } = await checkConsistency(path);
  t.same(problems, []);
  t.equal(records, 200);
});

t.test('a retention pass that fails part way removes nothing: its records, postings and log stay together', async (t) => {
  const path = t.testdir();
  const store = openAuditStore(storeConfig(path, { retention: { maxAgeDays: 0, maxRecords: 10, batchSize: 50 } }), capturingLogger().logger);
  t.teardown(() => store.close());
  for (let i = 0; i < 30; i++) store.append(makeRecord({ ms: BASE_MS + i }));
  await store.flush();
  // A postings value that cannot be decoded fails the pass after its records were removed (lmdb-js commits what a
  // plain transaction() callback had put before it threw).
  const { orgTime } = openDbs(store.env);
  await store.env.transaction(() => {
    for (const { key } of orgTime.getRange({})) orgTime.putSync(key, Buffer.from([1, 2]));
  });
  await t.rejects(store.pruneNow());
  t.equal((await store.query({}, { limit: 100, withTotal: true })).total, 30, 'no record removed');
  t.equal(store.readLog(0, 100).length, 30, 'and every log entry still finds its record');
});
