// Issue 10, finding 8: audit reads run on reader threads, so they cannot stall proxied traffic; each has a budget.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import t from 'tap';
import { ingest } from '../../bench/store.js';
import { storeSchema } from '../../src/config/sections/store.js';
import { openAuditStore } from '../../src/store/index.js';
import { PooledReadStore } from '../../src/store/read-pool/readers-store.js';
import { isBoundedPage } from '../../src/store/query.js';
import { KEY, contractChecker, startFixture, type Fixture } from '../api/fixtures/audit.js';
import { eventually } from '../helpers/eventually.js';
import { makeRecord } from './fixtures/helpers.js';

const RECORDS = 40_000;
/** No record has resource type x: the store reads every record, twice (the page and the total). */
const HEAVY = '/v1/audit-logs?page_size=1&resource_type=x';
/** A page and its total: light, and run by a reader (a bounded page without a total is read in place). */
const LIGHT = '/v1/audit-logs?page_size=1';
/** A first page by an index alone: read in place, without a reader. */
const BOUNDED = '/v1/api-keys/requests?limit=20';

let dir: string;
t.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'audit-proxy-read-pool-'));
  const store = openAuditStore(storeSchema.parse({ path: dir }), pino({ enabled: false }));
  await ingest(store, RECORDS);
  await store.close();
});
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function proxyOver(audit: Record<string, number>): Promise<Fixture> {
  return startFixture({ store: { path: dir, retention: { maxAgeDays: 0 } }, audit });
}

const poolOf = (f: Fixture) => (f.proxy.services.store as PooledReadStore).pool;

t.test('heavy audit queries in flight do not hold up an unrelated proxied GET', async (t) => {
  const f = await proxyOver({ queryTimeoutMs: 120_000 });
  t.teardown(() => f.close());
  let running = 4;
  const heavy = Array.from({ length: running }, () => f.get(HEAVY, KEY.admin).finally(() => running--));
  await sleep(100);
  const started = performance.now();
  const proxied = await f.get('/unrelated');
  const ms = performance.now() - started;
  t.equal(proxied.status, 200);
  t.ok(running > 0, `the GET was answered while ${running} of 4 heavy queries still ran`);
  t.ok(ms < 2_000, `the GET took ${Math.round(ms)} ms`);
  const answers = await Promise.all(heavy);
  t.same(answers.map((a) => [a.status, a.body.total]), Array(4).fill([200, 0]), 'the heavy queries finish and answer');
});

t.test('a query over its budget is a 503 naming the budget, and its scan is cancelled', async (t) => {
  const f = await proxyOver({ queryTimeoutMs: 50, readWorkers: 1 });
  t.teardown(() => f.close());
  const before = poolOf(f).threads.map((w) => w.threadId);
  const answer = await f.get(HEAVY, KEY.admin);
  t.equal(answer.status, 503);
  t.match(answer.body.message, /audit\.queryTimeoutMs: 50 ms/);
  t.equal((await contractChecker(f))('/v1/audit-logs', answer), null, 'the 503 follows the OpenAPI document');
  t.notSame(poolOf(f).threads.map((w) => w.threadId), before, 'the thread running the scan was replaced');
  // A light query fits the budget once the replacement is up (retried: a loaded machine may need a moment).
  await eventually(async () => (await f.get(LIGHT, KEY.admin)).status === 200, 10_000);
  t.pass('the pool answers again');
});

t.test('the pool survives a reader thread dying mid-query', async (t) => {
  const f = await proxyOver({ queryTimeoutMs: 120_000 });
  t.teardown(() => f.close());
  t.equal((await f.get(LIGHT, KEY.admin)).status, 200, 'the readers are up');
  const heavy = f.get(HEAVY, KEY.admin);
  await sleep(100);
  await Promise.all(poolOf(f).threads.map((w) => w.terminate()));
  const answer = await heavy;
  t.equal(answer.status, 503);
  t.match(answer.body.message, /audit reader failed .*retry/);
  await eventually(() => poolOf(f).threads.length === 2, 10_000);
  t.equal((await f.get(LIGHT, KEY.admin)).status, 200, 'replacement threads answer');
});

t.test('a bounded page is read in place, answered while a heavy query holds the only reader', async (t) => {
  const f = await proxyOver({ queryTimeoutMs: 120_000, readWorkers: 1 });
  t.teardown(() => f.close());
  t.equal((await f.get(LIGHT, KEY.admin)).status, 200, 'the reader is up');
  let heavyDone = false;
  const heavy = f.get(HEAVY, KEY.admin).finally(() => {
    heavyDone = true;
  });
  await sleep(50);
  const bounded = await f.get(BOUNDED, KEY.admin);
  t.equal(bounded.status, 200);
  t.equal((bounded.body.data.items as unknown[]).length, 20, 'a full page');
  t.notOk(heavyDone, 'while the heavy query still ran on the only reader');
  t.equal((await heavy).status, 200);
});

t.test('only pages an index serves alone, without a total and near their start, are bounded', async (t) => {
  const org = { organizationId: 'org-3' };
  t.ok(isBoundedPage(org, { limit: 100, offset: 100 }));
  t.ok(isBoundedPage({ ...org, apiKeyId: 'k', fromMs: 1, toMs: 2 }, { limit: 20 }), 'one indexed field and a time range');
  t.ok(isBoundedPage({}, { limit: 20, cursor: 'x' }), 'every organization, by the time index');
  t.notOk(isBoundedPage(org, { limit: 101 }), 'a longer page');
  t.notOk(isBoundedPage(org, { limit: 20, offset: 101 }), 'a deeper offset');
  t.notOk(isBoundedPage(org, { limit: 20, withTotal: true }), 'a total');
  t.notOk(isBoundedPage({ ...org, path: '/x' }, { limit: 20 }), 'a filter no index serves');
  t.notOk(isBoundedPage({ ...org, apiKeyId: 'k', method: 'GET' }, { limit: 20 }), 'two indexed fields (the second is residual)');
  t.notOk(isBoundedPage({ path: '/x' }, { limit: 20 }), 'a filter without an organization');
});

t.test('an iteration pages through the readers: every match once, newest first', async (t) => {
  const f = await proxyOver({ queryTimeoutMs: 120_000 });
  t.teardown(() => f.close());
  const store = f.proxy.services.store!;
  const filter = { organizationId: 'org-3' };
  const { total } = await store.query(filter, { limit: 1, withTotal: true });
  const ids: string[] = [];
  for await (const record of store.iterate(filter)) ids.push(record.id);
  t.ok(total! > 400, `${total} matches: more than two pages of the iteration`);
  t.equal(ids.length, total);
  t.equal(new Set(ids).size, ids.length, 'no record twice');
  t.ok(ids.every((id, i) => i === 0 || ids[i - 1]! > id), 'newest first');
  const lean: string[] = [];
  for await (const record of store.iterate(filter, { withoutBodies: true })) lean.push(record.id);
  t.same(lean, ids, 'the same without bodies');
});

t.test('closing the store refuses the reads still running or waiting', async (t) => {
  const config = storeSchema.parse({ path: dir, retention: { maxAgeDays: 0 } });
  const logger = pino({ enabled: false });
  const store = new PooledReadStore(openAuditStore(config, logger), { store: config, size: 1, timeoutMs: 120_000, logger });
  t.equal((await store.query({}, { limit: 1 })).items.length, 1, 'the reader is up');
  // One read runs on the only reader, the other waits for it.
  const outcomes = [0, 1].map(() => store.query({ resourceType: 'x' }, { limit: 1, withTotal: true }).then(() => null, (err: Error) => err));
  await sleep(100);
  await store.close();
  for (const outcome of await Promise.all(outcomes)) t.match(outcome, { name: 'ReaderFailedError', message: /the store is closing/ });
  await t.rejects(store.query({}, { limit: 1 }), { name: 'ReaderFailedError' }, 'and every read after');
});

t.test('a store closed while its reader threads are still opening it ends them without aborting the process', async (t) => {
  const config = storeSchema.parse({ path: dir, retention: { maxAgeDays: 0 } });
  const logger = pino({ enabled: false });
  // Terminating a thread inside lmdb's native open aborted the whole process (FATAL ERROR: napi_throw, seen once in a
  // full run); the race is narrow, so this guards it over many rounds rather than reproducing it every time.
  for (let round = 0; round < 20; round++) {
    const store = new PooledReadStore(openAuditStore(config, logger), { store: config, size: 2, timeoutMs: 5_000, logger });
    await sleep(round % 5);
    await store.close();
  }
  t.pass('20 stores opened and closed at once; the process is still here');
});

t.test('a reader answers from a snapshot as new as the query: a record flushed before it is found', async (t) => {
  // lmdb-js keeps a thread's read snapshot until a timer after its last read: a query reaching a reader soon after
  // the one before was answered from the older snapshot and missed what had been committed in between.
  const config = storeSchema.parse({ path: t.testdir(), retention: { maxAgeDays: 0 } });
  const logger = pino({ enabled: false });
  const writer = openAuditStore(config, logger);
  const store = new PooledReadStore(writer, { store: config, size: 1, timeoutMs: 120_000, logger });
  t.teardown(() => store.close());
  await eventually(() => writer.writerThread!.ready, 10_000);
  let missed = 0;
  for (let i = 0; i < 400; i++) {
    writer.append(makeRecord({ requestId: `fresh-${i}` }));
    await store.flush();
    const { items } = await store.query({ requestId: `fresh-${i}` }, { limit: 1 }); // no organization: a reader's
    if (items.length === 0) missed++;
  }
  t.equal(missed, 0, 'every query sees the commit flushed before it');
});
