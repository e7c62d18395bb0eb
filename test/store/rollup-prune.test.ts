import type { Key } from 'lmdb';
import t from 'tap';
import { openAuditStore, type LmdbAuditStore } from '../../src/store/index.js';
import { PRUNE_CHUNK_KEYS } from '../../src/store/chunked-prune.js';
import { bucketOf } from '../../src/store/postings.js';
import { BASE_MS, capturingLogger, makeRecord, storeConfig } from './fixtures/helpers.js';

const RECORDS = 1_500;
const KEPT = 100;

/** Keys of the count rollup for seconds before `cutoff` (retention removed their records). */
function staleCounts(store: LmdbAuditStore, cutoff: number): number {
  const db = store.env.openDB<Buffer, Key>({ name: 'stats_count', encoding: 'binary' });
  let stale = 0;
  for (const key of db.getKeys()) {
    const second = (key as Key[]).at(-1);
    if (typeof second === 'number' && second < cutoff) stale++;
  }
  return stale;
}

t.test('stale rollup counts are pruned a chunk per write transaction, not all in one', async (t) => {
  const path = t.testdir();
  const config = storeConfig(path, { retention: { maxAgeDays: 0, maxRecords: KEPT } });
  const first = openAuditStore(config, capturingLogger().logger);
  // One record a second, each with its own path and client address: several count keys per second.
  for (let i = 0; i < RECORDS; i++) first.append(makeRecord({ ms: BASE_MS + i * 1_000, path: `/v1/p${i}`, clientIp: `10.0.${i >> 8}.${i & 255}` }));
  await first.flush();
  t.equal(await first.pruneNow(), RECORDS - KEPT);
  await first.close();

  // A new process starts a pruning pass with its first write batch.
  const store = openAuditStore(config, capturingLogger().logger);
  t.teardown(() => store.close());
  const cutoff = bucketOf(BASE_MS + (RECORDS - KEPT) * 1_000);
  const before = staleCounts(store, cutoff);
  t.ok(before > 2 * PRUNE_CHUNK_KEYS, `retention left ${before} stale counts`);
  const write = async (i: number): Promise<void> => {
    store.append(makeRecord({ ms: BASE_MS + (RECORDS + i) * 1_000, path: '/v1/late' }));
    await store.flush();
  };
  await write(0);
  const afterOne = staleCounts(store, cutoff);
  t.ok(afterOne > 0 && before - afterOne <= PRUNE_CHUNK_KEYS, `one transaction removed ${before - afterOne} of ${before}`);
  for (let i = 1; i <= Math.ceil(before / PRUNE_CHUNK_KEYS) + 1; i++) await write(i);
  t.equal(staleCounts(store, cutoff), 0, 'the following transactions finish the pass');
  const kept = await store.query({ organizationId: 'org-a', path: `/v1/p${RECORDS - 1}` }, { limit: 1, withTotal: true });
  t.equal(kept.total, 1, 'totals of kept records are still counted');
  const late = await store.query({ organizationId: 'org-a', path: '/v1/late' }, { limit: 1, withTotal: true });
  t.equal(late.total, Math.ceil(before / PRUNE_CHUNK_KEYS) + 2);
});
