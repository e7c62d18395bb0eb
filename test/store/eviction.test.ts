import { randomBytes } from 'node:crypto';
// Issue 10, finding 7: the store keeps itself below store.mapSizeMb by evicting its oldest records.
import t from 'tap';
import { open } from 'lmdb';
import { openAuditStore } from '../../src/store/index.js';
import { BASE_MS, capturingLogger, checkConsistency, makeRecord, storeConfig } from './fixtures/helpers.js';

/** ~20 KB each: a 2 MiB store holds about a hundred. */
// Random and unique: bodies stored apart are deduplicated and compressed, and these must fill the map.
const bodyRecord = (i: number) => makeRecord({ ms: BASE_MS + i, requestBody: `{"n":${i},"pad":"${randomBytes(15_000).toString('base64')}"}` });

// The guard runs where the writes do: on the writer thread (its pins sent there), or inline on the main thread.
for (const writer of ['thread', 'inline'] as const) {
  t.test(`past evictAbovePercent the oldest records are evicted, counted and logged; every record is written (${writer} writer)`, async (t) => {
    const path = t.testdir();
    const { logger, lines } = capturingLogger();
    const store = openAuditStore(storeConfig(path, { writer, mapSizeMb: 2, batchMax: 8, retention: { maxAgeDays: 0, evictAbovePercent: 60 } }), logger);
    const records = Array.from({ length: 400 }, (_, i) => bodyRecord(i));
    for (const record of records) {
      store.append(record);
      if (store.health().queueDepth >= 8) await store.flush();
    }
    await store.flush();
    const health = store.health();
    t.equal(health.written, 400, 'nothing was refused');
    t.equal(health.dropped, 0);
    t.ok(health.evicted! > 0, 'records were evicted');
    t.equal(store.accepting(), true);
    const left = (await store.query({}, { limit: 1_000, withTotal: true }));
    t.equal(left.total, 400 - health.evicted!, 'what is left is what was not evicted');
    t.equal(left.items[0]!.id, records[399]!.id, 'the newest record is kept');
    t.equal(left.items.at(-1)!.id, records[health.evicted!]!.id, 'the oldest went first');
    const line = lines.find((l) => l.msg === 'audit store evicted its oldest records to stay below store.mapSizeMb');
    t.match(line, { level: 40, mapSizeMb: 2 }, 'a log line says so');
    t.ok((line!.liveMb as number) < 2 * 0.6, 'and eviction went below the level that started it');
    await store.close();
    const consistency = await checkConsistency(path);
    t.same(consistency.problems, [], 'index entries went with their records');
  });

  t.test(`records a pinning follower has not passed are not evictable: the store then fails closed, and recovers (${writer} writer)`, async (t) => {
    const { logger } = capturingLogger();
    const store = openAuditStore(storeConfig(t.testdir(), { writer, mapSizeMb: 1, batchMax: 4, retryMs: 20, retention: { maxAgeDays: 0, evictAbovePercent: 50 } }), logger);
    t.teardown(() => store.close());
    store.pin('fleet');
    for (let i = 0; i < 80; i++) store.append(bodyRecord(i));
    await t.rejects(store.flush(), /MDB_MAP_FULL/, 'nothing could be evicted');
    t.equal(store.accepting(), false, 'closed mode refuses traffic');
    t.equal(store.health().evicted, 0);
    await store.setPosition('fleet', store.lastSeq());
    await until(async () => store.flush().then(() => true, () => false));
    t.equal(store.health().written, 80, 'once shipped records could go, every record was written');
    t.ok(store.health().evicted! > 0);
    t.equal(store.accepting(), true);
    t.equal(store.readLog(0, 1)[0]!.seq > 1, true, 'the evicted records left the log');
  });
}

/** Bytes in the pages of every database of a closed store (what the map-size guard must keep below mapSizeMb). */
function storeBytes(path: string): number {
  const env = open({ path, noSubdir: false, maxDbs: 32, readOnly: true });
  const pages = (stats: { pageSize: number; treeBranchPageCount: number; treeLeafPageCount: number; overflowPages: number }) =>
    (stats.treeBranchPageCount + stats.treeLeafPageCount + stats.overflowPages) * stats.pageSize;
  let bytes = pages(env.getStats() as never);
  for (const name of Array.from(env.getKeys())) bytes += pages(env.openDB({ name: name as string, encoding: 'binary' }).getStats() as never);
  void env.close();
  return bytes;
}

t.test('what eviction cannot remove (the Merkle log, the rollups) counts against mapSizeMb too', async (t) => {
  const path = t.testdir();
  const store = openAuditStore(storeConfig(path, { mapSizeMb: 2, batchMax: 8, retention: { maxAgeDays: 0, evictAbovePercent: 60 } }), capturingLogger().logger);
  const beside = store.env.openDB<Buffer, number>({ name: 'chain_tiles', encoding: 'binary' }); // stands for the Merkle log
  for (let i = 0; i < 50; i++) await beside.put(i, Buffer.alloc(20_000, i));
  for (let i = 0; i < 400; i++) {
    store.append(bodyRecord(i));
    if (store.health().queueDepth >= 8) await store.flush();
  }
  await store.flush();
  t.match(store.health(), { written: 400, dropped: 0 });
  t.ok(store.health().evicted! > 0);
  await store.close();
  const bytes = storeBytes(path);
  t.ok(bytes <= 2 * 1024 * 1024, `${bytes} bytes in a store of at most 2 MiB`);
});

async function until(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
