import { collect } from '../helpers/collect.js';
import t from 'tap';
import type { AuditRecord } from '../../src/audit/record.js';
import { openAuditStore } from '../../src/store/index.js';
import type { AuditFilter } from '../../src/store/store.js';
import { BASE_MS, capturingLogger, ids, makeRecord, storeConfig } from './fixtures/helpers.js';

/** 60 records over two organizations (and some with none), varied in every indexed field. */
function corpus(): AuditRecord[] {
  return Array.from({ length: 60 }, (_, i) => makeRecord({
    ms: BASE_MS + i * 1000,
    organizationId: i % 10 === 9 ? null : i % 2 === 0 ? 'org-a' : 'org-b',
    apiKeyId: i % 3 === 0 ? 'key-1' : i % 3 === 1 ? 'key-2' : null,
    serviceAccountId: i % 3 === 2 ? 'sa-1' : null,
    userId: i % 4 === 0 ? 'user-1' : null,
    statusCode: i % 5 === 0 ? 500 : 200,
    method: i % 2 === 0 ? 'GET' : 'post',
    path: i % 6 === 0 ? '/v1/special' : '/v1/things',
  }));
}

/** The reference answer: filter the corpus in memory, newest first. */
function expected(records: AuditRecord[], filter: AuditFilter): string[] {
  const matches = records.filter((r) => (Object.keys(filter) as (keyof AuditFilter)[]).every((key) => {
    const ms = Date.parse(r.createdAt);
    if (key === 'fromMs') return ms >= filter.fromMs!;
    if (key === 'toMs') return ms <= filter.toMs!;
    if (key === 'method') return r.method.toUpperCase() === filter.method!.toUpperCase();
    if (key === 'organizationId') return (r.organizationId ?? '') === filter.organizationId;
    return r[key] === filter[key];
  }));
  return ids(matches.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : -1)));
}

t.test('queries', async (t) => {
  const store = openAuditStore(storeConfig(t.testdir()), capturingLogger().logger);
  t.teardown(() => store.close());
  const records = corpus();
  for (const record of [...records].reverse()) t.ok(store.append(record));
  await store.flush();
  t.equal(store.health().written, records.length);

  const filters: AuditFilter[] = [
    {},
    { organizationId: 'org-a' },
    { organizationId: 'org-b' },
    { organizationId: '' },
    { organizationId: 'org-missing' },
    { organizationId: 'org-a', apiKeyId: 'key-1' },
    { organizationId: 'org-b', serviceAccountId: 'sa-1' },
    { organizationId: 'org-a', userId: 'user-1' },
    { organizationId: 'org-b', requestId: records[5]!.requestId },
    { organizationId: 'org-a', requestId: records[5]!.requestId },
    { organizationId: 'org-a', statusCode: 500 },
    { organizationId: 'org-b', method: 'POST' },
    { organizationId: 'org-b', method: 'post' },
    { organizationId: 'org-a', fromMs: BASE_MS + 10_000, toMs: BASE_MS + 30_000 },
    { fromMs: BASE_MS + 10_500, toMs: BASE_MS + 12_000 },
    { apiKeyId: 'key-2' },
    { statusCode: 500, method: 'GET' },
    { organizationId: 'org-a', apiKeyId: 'key-1', statusCode: 500 },
    { organizationId: 'org-a', path: '/v1/special' },
    { organizationId: 'org-a', userId: 'user-1', apiKeyId: 'key-1', fromMs: BASE_MS + 20_000 },
    { organizationId: 'org-b', apiKeyId: 'key-2', toMs: BASE_MS + 40_000 },
    { clientIp: '10.0.0.1', principalType: 'api_key', organizationId: 'org-b' },
  ];
  for (const filter of filters) {
    const want = expected(records, filter);
    const page = (await store.query(filter, { limit: 100, withTotal: true }));
    t.same(ids(page.items), want, `items for ${JSON.stringify(filter)}`);
    t.equal(page.total, want.length, `total for ${JSON.stringify(filter)}`);
    t.equal(page.hasMore, false);
    t.equal(page.nextCursor, null);
    t.same(ids((await collect(store.iterate(filter)))), want, `iterate for ${JSON.stringify(filter)}`);
  }
  t.ok(expected(records, { organizationId: 'org-a', apiKeyId: 'key-1' }).length > 3, 'the corpus exercises the filters');
});

t.test('pagination by offset and cursor', async (t) => {
  const store = openAuditStore(storeConfig(t.testdir()), capturingLogger().logger);
  t.teardown(() => store.close());
  const records = Array.from({ length: 30 }, (_, i) => makeRecord({ ms: BASE_MS + i, organizationId: 'org-p' }));
  records.forEach((record) => store.append(record));
  await store.flush();
  const newestFirst = ids(records).reverse();

  for (const filter of [{ organizationId: 'org-p' }, { organizationId: 'org-p', path: '/v1/things' }]) {
    const third = (await store.query(filter, { limit: 10, offset: 20 }));
    t.same(ids(third.items), newestFirst.slice(20, 30), 'exact multiple: last page is full');
    t.equal(third.hasMore, false);
    t.equal(third.nextCursor, null);
    const past = (await store.query(filter, { limit: 10, offset: 45, withTotal: true }));
    t.same(past.items, []);
    t.equal(past.hasMore, false);
    t.equal(past.total, 30);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = (await store.query(filter, { limit: 7, ...(cursor ? { cursor } : {}) }));
      seen.push(...ids(page.items));
      cursor = page.nextCursor ?? undefined;
      t.equal(page.hasMore, cursor !== undefined);
      pages++;
    } while (cursor);
    t.same(seen, newestFirst, 'cursor pages cover everything exactly once');
    t.equal(pages, 5);
  }
  const first = (await store.query({ organizationId: 'org-p' }, { limit: 10 }));
  const second = (await store.query({ organizationId: 'org-p' }, { limit: 10, cursor: first.nextCursor!, offset: 5 }));
  t.same(ids(second.items), newestFirst.slice(10, 20), 'the cursor wins over offset');
  await t.rejects(store.query({}, { limit: 10, cursor: 'not-a-cursor' }), { name: 'InvalidCursorError' });
  await t.rejects(store.query({}, { limit: 0 }), RangeError);
});

t.test('cursor pages neither overlap nor gap while records keep arriving', async (t) => {
  const store = openAuditStore(storeConfig(t.testdir()), capturingLogger().logger);
  t.teardown(() => store.close());
  const initial = Array.from({ length: 50 }, (_, i) => makeRecord({ ms: BASE_MS + i * 10, organizationId: 'org-live' }));
  initial.forEach((record) => store.append(record));
  await store.flush();
  const seen: string[] = [];
  let cursor: string | undefined;
  let arriving = 0;
  do {
    const page = (await store.query({ organizationId: 'org-live' }, { limit: 8, ...(cursor ? { cursor } : {}) }));
    seen.push(...ids(page.items));
    cursor = page.nextCursor ?? undefined;
    // A newer record, and one at the same millisecond as the page's last item (a larger id: already passed).
    store.append(makeRecord({ ms: BASE_MS + 10_000 + arriving++, organizationId: 'org-live' }));
    const last = page.items[page.items.length - 1];
    if (last) store.append(makeRecord({ ms: Date.parse(last.createdAt), organizationId: 'org-live' }));
    await store.flush();
  } while (cursor);
  t.same(seen, ids(initial).reverse());
  t.equal(new Set(seen).size, seen.length, 'no overlap');
});

t.test('organizations are isolated', async (t) => {
  const store = openAuditStore(storeConfig(t.testdir()), capturingLogger().logger);
  t.teardown(() => store.close());
  // "org" is a prefix of "org-x": an ordered-key layout must still keep them apart.
  const a = makeRecord({ organizationId: 'org', apiKeyId: 'k' });
  const b = makeRecord({ organizationId: 'org-x', apiKeyId: 'k' });
  const c = makeRecord({ organizationId: 'or', apiKeyId: 'k' });
  [a, b, c].forEach((record) => store.append(record));
  await store.flush();
  t.same(ids((await store.query({ organizationId: 'org' }, { limit: 10 })).items), [a.id]);
  t.same(ids((await store.query({ organizationId: 'org', apiKeyId: 'k' }, { limit: 10 })).items), [a.id]);
  t.same(ids((await store.query({ organizationId: 'or', apiKeyId: 'k' }, { limit: 10, withTotal: true })).items), [c.id]);
  t.equal((await store.query({ organizationId: 'org-x', apiKeyId: 'k' }, { limit: 10, withTotal: true })).total, 1);
  t.same(ids((await store.query({}, { limit: 10 })).items), [c.id, b.id, a.id]);
});
