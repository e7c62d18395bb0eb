// The batched commit log (schema 2): seqs stay unique when records are removed, even all of them.
import t from 'tap';
import { openAuditStore } from '../../src/store/index.js';
import { BASE_MS, capturingLogger, makeRecord, storeConfig } from './fixtures/helpers.js';

const DAY_MS = 86_400_000;

t.test('removing every record never lets the sequence go back', async (t) => {
  const store = openAuditStore(storeConfig(t.testdir(), { retention: { maxAgeDays: 1 } }), capturingLogger().logger);
  t.teardown(() => store.close());
  for (let i = 0; i < 5; i++) store.append(makeRecord({ ms: BASE_MS + i }));
  await store.flush();
  t.equal(await store.pruneNow(BASE_MS + 3 * DAY_MS), 5, 'every record was old enough');
  t.equal(store.lastSeq(), 5, 'the last seq is still known');
  t.same(store.readLog(0, 10), [], 'and the log holds none of them');
  const next = makeRecord({ ms: BASE_MS + 3 * DAY_MS });
  store.append(next);
  await store.flush();
  t.equal(next.seq, 6, 'the next record continues the sequence');
  t.same(store.readLog(0, 10).map((e) => e.seq), [6]);
});

t.test('readLog across batches, with removed records in the middle of one', async (t) => {
  const store = openAuditStore(storeConfig(t.testdir(), { batchMax: 4, retention: { maxAgeDays: 0, maxRecords: 7, batchSize: 3 } }), capturingLogger().logger);
  t.teardown(() => store.close());
  // Time order differs from commit order: retention removes the oldest by time, from the middle of batches.
  const order = [5, 0, 9, 1, 8, 2, 7, 3, 6, 4];
  for (const i of order) store.append(makeRecord({ ms: BASE_MS + i }));
  await store.flush();
  t.equal(await store.pruneNow(), 3, 'the three oldest by time');
  const kept = store.readLog(0, 100);
  t.same(kept.map((e) => e.seq), [1, 3, 5, 7, 8, 9, 10], 'seqs of the records left, ascending');
  t.same(store.readLog(3, 2).map((e) => e.seq), [5, 7], 'after and limit skip removed slots');
  t.same(store.readRecords(7, 10).map((r) => r.seq), [8, 9, 10]);
  t.equal(store.lastSeq(), 10);
});
