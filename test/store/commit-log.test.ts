import t from 'tap';
import { openAuditStore } from '../../src/store/index.js';
import { BASE_MS, capturingLogger, makeRecord, storeConfig } from './fixtures/helpers.js';

t.test('every committed record gets the next seq, in commit order, and readLog returns its stored bytes', async (t) => {
  const store = openAuditStore(storeConfig(t.testdir()), capturingLogger().logger);
  t.teardown(() => store.close());
  t.equal(store.lastSeq(), 0, 'an empty store');
  // Commit order differs from time order: the log follows commits.
  const records = [makeRecord({ ms: BASE_MS + 50 }), makeRecord({ ms: BASE_MS + 10 }), makeRecord({ ms: BASE_MS + 30 })];
  records.forEach((record) => store.append(record));
  await store.flush();
  const late = makeRecord({ ms: BASE_MS });
  store.append(late);
  await store.flush();
  t.equal(store.lastSeq(), 4);
  const entries = store.readLog(0, 10);
  t.same(entries.map((e) => e.id), [...records, late].map((r) => r.id));
  t.same(entries.map((e) => e.seq), [1, 2, 3, 4]);
  t.same(store.readLog(2, 1).map((e) => e.seq), [3], 'after and limit');
  t.same(store.readRecords(1, 2).map((r) => [r.seq, r.id]), [[2, records[1]!.id], [3, records[2]!.id]], 'decoded, in commit order');
  const stored = (await store.query({ requestId: late.requestId }, { limit: 1 })).items[0]!;
  t.equal(stored.seq, 4, 'the record carries its seq');
  t.ok(entries[3]!.bytes.length > 0);
  t.not(entries[3]!.bytes, entries[2]!.bytes);
});

t.test('follower positions persist across reopening', async (t) => {
  const path = t.testdir();
  const store = openAuditStore(storeConfig(path), capturingLogger().logger);
  t.equal(store.position('fleet'), 0);
  await store.setPosition('fleet', 42);
  await store.close();
  const reader = openAuditStore(storeConfig(path), capturingLogger().logger, { readOnly: true });
  t.teardown(() => reader.close());
  t.equal(reader.position('fleet'), 42);
  await t.rejects(reader.setPosition('fleet', 43), /read-only/);
});

t.test('retention never removes what a pinning follower has not passed', async (t) => {
  const store = openAuditStore(storeConfig(t.testdir(), { retention: { maxAgeDays: 0, maxRecords: 2, batchSize: 5 } }), capturingLogger().logger);
  t.teardown(() => store.close());
  store.pin('fleet');
  const records = Array.from({ length: 10 }, (_, i) => makeRecord({ ms: BASE_MS + i }));
  records.forEach((record) => store.append(record));
  await store.flush();
  t.equal(await store.pruneNow(), 0, 'nothing shipped, nothing removed');
  await store.setPosition('fleet', 3);
  t.equal(await store.pruneNow(), 3, 'only what was passed');
  t.same(store.readLog(0, 100).map((e) => e.seq), [4, 5, 6, 7, 8, 9, 10], 'pruned records leave the log');
  await store.setPosition('fleet', 10);
  t.equal(await store.pruneNow(), 5, 'down to maxRecords');
});
