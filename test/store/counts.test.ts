// Issue 11: totals of filters no index serves come from the count rollup (stats-counts.ts, query-counts.ts), pages
// read only the seconds it lists, and both equal the stored records filtered in memory: ranges cutting seconds,
// retention-pruned records, records of another organization, a record arriving older than the pruned ones.
import t, { type Test } from 'tap';
import type { AuditRecord } from '../../src/audit/record.js';
import { openAuditStore, type LmdbAuditStore } from '../../src/store/index.js';
import { MAX_MS, MIN_MS, openDbs } from '../../src/store/indexes.js';
import { countByRollup } from '../../src/store/query-counts.js';
import type { StatsRollup } from '../../src/store/stats-rollup.js';
import type { AuditFilter } from '../../src/store/store.js';
import { BASE_MS, capturingLogger, makeRecord, storeConfig } from './fixtures/helpers.js';

const PRINCIPALS = ['api_key', 'service_account', 'user'] as const;

/** Five records a second for two minutes, two organizations interleaved, every counted field varied. */
function corpus(): AuditRecord[] {
  return Array.from({ length: 600 }, (_, i) => {
    const principalType = PRINCIPALS[i % 3]!;
    return makeRecord({
      ms: BASE_MS + i * 200 + (i % 7),
      organizationId: i % 4 === 3 ? 'org-b' : 'org-a',
      path: `/v1/items/${i % 6}`, principalType, workspaceId: i % 5 === 0 ? null : `ws-${i % 2}`,
      resourceType: i % 3 === 0 ? 'item' : 'order', action: i % 2 === 0 ? 'read' : 'create', clientIp: `10.0.0.${i % 4}`,
      country: i % 9 === 0 ? null : i % 2 === 0 ? 'NL' : 'DE', userId: principalType === 'user' ? `u-${i % 2}` : null,
      apiKeyId: principalType === 'api_key' ? `k-${i % 2}` : null, serviceAccountId: principalType === 'service_account' ? 'sa-1' : null,
    });
  });
}

const FILTERS: AuditFilter[] = [
  { path: '/v1/items/3' }, { principalType: 'user' }, { workspaceId: 'ws-1' }, { resourceType: 'order' }, { action: 'read' },
  { clientIp: '10.0.0.2' }, { country: 'DE' }, { principalType: 'user', userId: 'u-0' }, { principalType: 'api_key', apiKeyId: 'k-1' },
  { principalType: 'service_account', serviceAccountId: 'sa-1' }, { path: '/v1/none' },
];
const RANGES = [{}, { fromMs: BASE_MS + 10_500, toMs: BASE_MS + 95_333 }, { fromMs: BASE_MS + 30_000, toMs: BASE_MS + 59_999 }, { toMs: BASE_MS + 700 }];

/** Ids of every match, by cursor pages of 7 (these read only the seconds the rollup lists). */
async function pagedThrough(store: LmdbAuditStore, filter: AuditFilter): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.query(filter, { limit: 7, ...(cursor !== undefined && { cursor }) });
    ids.push(...page.items.map((r) => r.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return ids;
}

/** The reference: every stored record (read without an organization, so without the rollup), filtered here. */
async function expectedIds(store: LmdbAuditStore, filter: AuditFilter): Promise<string[]> {
  const ids: string[] = [];
  for await (const r of store.iterate({ fromMs: filter.fromMs, toMs: filter.toMs })) {
    const fields = Object.keys(filter).filter((k) => k !== 'fromMs' && k !== 'toMs') as (keyof AuditFilter)[];
    if (fields.every((k) => r[k as keyof AuditRecord] === filter[k])) ids.push(r.id);
  }
  return ids;
}

/** Every filter and range over both organizations: the total equals the page-through (and the rollup answered it). */
async function checkTotals(t: Test, store: LmdbAuditStore, rollupAnswers: boolean): Promise<void> {
  const counts = (store.statsRollup as StatsRollup).counts;
  const dbs = openDbs(store.env);
  for (const organizationId of ['org-a', 'org-b']) {
    for (const base of FILTERS) {
      for (const range of RANGES) {
        const filter = { organizationId, ...base, ...range };
        const { total } = await store.query(filter, { limit: 1, withTotal: true });
        const name = JSON.stringify(filter);
        const expected = await expectedIds(store, filter);
        t.equal(total, expected.length, `${name}: total`);
        t.same(await pagedThrough(store, filter), expected, `${name}: pages`);
        const range2 = { fromMs: filter.fromMs ?? MIN_MS, toMs: filter.toMs ?? MAX_MS };
        if (rollupAnswers) t.not(countByRollup(dbs, counts, filter, range2, () => 0), null, `${name}: the rollup answers`);
      }
    }
  }
}

t.test('totals from the count rollup equal a page-through, before and after retention, and after an older late record', async (t) => {
  const store = openAuditStore(storeConfig(t.testdir(), { retention: { maxAgeDays: 0, maxRecords: 497, batchSize: 50 } }), capturingLogger().logger);
  t.teardown(() => store.close());
  const records = corpus();
  for (let i = 0; i < records.length; i += 37) {
    for (const record of records.slice(i, i + 37)) store.append(record);
    await store.flush();
  }
  t.ok((store.statsRollup as StatsRollup).counts.complete(), 'a store created empty counts every record');
  await checkTotals(t, store, true);
  t.equal(await store.pruneNow(), 103, 'retention removes the oldest 103, cutting a second');
  await checkTotals(t, store, true);
  // Older than every pruned record: the seconds between it and the survivors hold counts of removed records.
  store.append(makeRecord({ ms: BASE_MS - 5_000, organizationId: 'org-a', path: '/v1/items/3', principalType: 'user', userId: 'u-0' }));
  store.append(makeRecord({ ms: BASE_MS - 5_000, organizationId: 'org-b', path: '/v1/items/3', principalType: 'user', userId: 'u-0' }));
  await store.flush();
  await checkTotals(t, store, false);
  const stale = { organizationId: 'org-a', path: '/v1/items/3' };
  t.equal(countByRollup(openDbs(store.env), (store.statsRollup as StatsRollup).counts, stale, { fromMs: MIN_MS, toMs: MAX_MS }, () => 0), null,
    'seconds holding counts of pruned records: the rollup steps aside');
});

t.test('a store that held records before counting began scans its totals', async (t) => {
  const path = t.testdir();
  const first = openAuditStore(storeConfig(path, { retention: { maxAgeDays: 0 } }), capturingLogger().logger);
  first.append(makeRecord({ ms: BASE_MS, path: '/v1/x' }));
  await first.flush();
  // What a store written before this build looks like: records, and no mark that the rollup saw them all.
  const dbs = first.env.openDB({ name: 'stats_count', encoding: 'binary' });
  await first.env.transaction(() => dbs.removeSync(['complete']));
  await first.close();
  const store = openAuditStore(storeConfig(path, { retention: { maxAgeDays: 0 } }), capturingLogger().logger);
  t.teardown(() => store.close());
  t.notOk((store.statsRollup as StatsRollup).counts.complete());
  store.append(makeRecord({ ms: BASE_MS + 5_000, path: '/v1/x' }));
  await store.flush();
  const filter = { organizationId: 'org-a', path: '/v1/x' };
  t.equal((await store.query(filter, { limit: 1, withTotal: true })).total, 2);
  t.equal(countByRollup(openDbs(store.env), (store.statsRollup as StatsRollup).counts, filter, { fromMs: MIN_MS, toMs: MAX_MS }, () => 0), null);
});
