import { randomBytes } from 'node:crypto';
import t from 'tap';
import { open } from 'lmdb';
import { openAuditStore, SCHEMA_VERSION, type LmdbAuditStore } from '../../src/store/index.js';
import { REDACTED } from '../../src/audit/redact.js';
import { capturingLogger, checkConsistency, makeRecord, storeConfig, withRawBody } from './fixtures/helpers.js';

const settle = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));
/** ~100 KB each, so a 1 MiB store fills after about ten: random and unique, as bodies stored apart are deduplicated and compressed. */
const bigRecord = () => makeRecord({ requestBody: randomBytes(75_000).toString('base64') });

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await settle(10);
  }
}

t.test('closed mode: a full queue refuses new work until it drains, and drops nothing', async (t) => {
  const store = openAuditStore(storeConfig(t.testdir(), { queueMax: 10, batchMax: 4 }), capturingLogger().logger);
  t.teardown(() => store.close());
  t.equal(store.accepting(), true);
  for (let i = 0; i < 15; i++) t.equal(store.append(makeRecord()), true, 'records of admitted requests are still queued');
  t.equal(store.accepting(), false);
  t.match(store.health(), { ok: false, queueDepth: 15, queueCapacity: 10 });
  await store.flush();
  t.equal(store.accepting(), true);
  t.match(store.health(), { ok: true, queueDepth: 0, written: 15, dropped: 0 });
  for (let i = 0; i < 20; i++) store.append(makeRecord());
  t.equal(store.append(makeRecord()), false, 'twice the capacity is the hard limit');
  t.equal(store.health().dropped, 1);
});

t.test('open mode: a full queue drops, counts and logs, and keeps accepting', async (t) => {
  const { logger, lines } = capturingLogger();
  const store = openAuditStore(storeConfig(t.testdir(), { queueMax: 10, onFailure: 'open' }), logger);
  t.teardown(() => store.close());
  const results = Array.from({ length: 15 }, () => store.append(makeRecord()));
  t.equal(results.filter(Boolean).length, 10);
  t.equal(store.accepting(), true);
  t.equal(store.health().dropped, 5);
  await store.flush();
  await settle(20);
  t.match(lines.find((line) => line.msg === 'audit records dropped'), { level: 50, dropped: 5, reason: 'queue full' });
  t.equal((await store.query({}, { limit: 100, withTotal: true })).total, 10);
});

/** A store whose batches go to `writer`: the thread takes them once it is up (until then they are written inline). */
async function openWith(writer: 'thread' | 'inline', config: ReturnType<typeof storeConfig>, logger: Parameters<typeof openAuditStore>[1]): Promise<LmdbAuditStore> {
  const store = openAuditStore({ ...config, writer }, logger);
  if (store.writerThread) await until(() => store.writerThread!.ready);
  return store;
}

for (const writer of ['inline', 'thread'] as const) {
  t.test(`closed mode, ${writer} writer: MDB_MAP_FULL stops accepting, retries, and loses nothing once there is room; nothing is written twice`, async (t) => {
    const { logger, lines } = capturingLogger();
    const path = t.testdir();
    const config = storeConfig(path, { mapSizeMb: 1, batchMax: 4, retryMs: 20, retention: { maxAgeDays: 0, maxRecords: 2, evictAbovePercent: 0 } });
    const store = await openWith(writer, config, logger);
    for (let i = 0; i < 30; i++) store.append(bigRecord());
    await t.rejects(store.flush(), /MDB_MAP_FULL/);
    t.equal(store.accepting(), false);
    t.match(store.health(), { ok: false, lastError: /MDB_MAP_FULL/, dropped: 0 });
    t.ok(lines.some((line) => line.msg === 'audit store write failed; retrying'));
    // Pruning frees pages; the retried batches then go through.
    await until(() => {
      void store.pruneNow();
      return store.health().written === 30;
    });
    t.equal(store.accepting(), true);
    t.equal(store.health().dropped, 0);
    t.ok(lines.some((line) => line.msg === 'audit store writes recovered'));
    t.equal(store.lastSeq(), 30, 'each record committed once (retention has removed most of them since)');
    await store.close();
    t.same((await checkConsistency(path)).problems, [], 'a failed batch left nothing behind');
  });

  t.test(`open mode, ${writer} writer: a failed write drops its batch, counted and logged, and leaves none of it in the store`, async (t) => {
    const { logger, lines } = capturingLogger();
    const path = t.testdir();
    const store = await openWith(writer, storeConfig(path, { mapSizeMb: 1, batchMax: 4, onFailure: 'open', retention: { evictAbovePercent: 0 } }), logger);
    for (let i = 0; i < 30; i++) store.append(bigRecord());
    await store.flush();
    const health = store.health();
    t.ok(health.dropped > 0);
    t.equal(health.written + health.dropped, 30);
    t.equal(store.accepting(), true);
    await settle(20);
    t.match(lines.find((line) => line.msg === 'audit records dropped'), { level: 50, reason: /MDB_MAP_FULL/ });
    await store.close();
    const { problems, records } = await checkConsistency(path);
    t.same(problems, []);
    t.equal(records, health.written, 'the store holds what was written, not a dropped record');
  });
}

t.test('close while failing: gives up, logs what was not written', async (t) => {
  const { logger, lines } = capturingLogger();
  const store = openAuditStore(storeConfig(t.testdir(), { mapSizeMb: 1, batchMax: 4, retryMs: 10_000, retention: { evictAbovePercent: 0 } }), logger);
  for (let i = 0; i < 30; i++) store.append(bigRecord());
  await store.close();
  t.ok(store.health().dropped > 0);
  t.match(lines.find((line) => line.msg === 'audit records dropped'), { reason: /closed/ });
  t.equal(store.append(makeRecord()), false, 'a closed store takes nothing');
  t.equal(store.accepting(), false);
});

t.test('schema version is written and a newer one is refused', async (t) => {
  const path = t.testdir();
  await openAuditStore(storeConfig(path), capturingLogger().logger).close();
  const env = open({ path, noSubdir: false, maxDbs: 16 });
  const meta = env.openDB({ name: 'meta' });
  t.equal(meta.get('schemaVersion'), SCHEMA_VERSION);
  await meta.put('schemaVersion', SCHEMA_VERSION + 1);
  await env.close();
  t.throws(() => openAuditStore(storeConfig(path), capturingLogger().logger), {
    name: 'SchemaVersionError',
    message: `schema version ${SCHEMA_VERSION + 1}, newer than this build understands (${SCHEMA_VERSION})`,
  });
});

t.test('read-only open answers queries and refuses writes', async (t) => {
  const path = t.testdir();
  const writer = openAuditStore(storeConfig(path), capturingLogger().logger);
  const record = makeRecord({ organizationId: 'org-ro' });
  writer.append(record);
  await writer.close();
  const reader = openAuditStore(storeConfig(path), capturingLogger().logger, { readOnly: true });
  t.teardown(() => reader.close());
  t.same((await reader.query({ organizationId: 'org-ro' }, { limit: 5 })).items, [record]);
  t.throws(() => reader.append(makeRecord()), /read-only/);
  t.equal(reader.accepting(), false);
  await t.rejects(reader.pruneNow(), /read-only/);
});

t.test('a record with an unparseable createdAt is refused', async (t) => {
  const store = openAuditStore(storeConfig(t.testdir()), capturingLogger().logger);
  t.teardown(() => store.close());
  t.throws(() => store.append(makeRecord({ createdAt: 'yesterday' })), TypeError);
});

for (const onFailure of ['closed', 'open'] as const) {
  t.test(`${onFailure} mode: one record the store cannot encode is stored reduced; its batch and every later one are written`, async (t) => {
    const { logger, lines } = capturingLogger();
    const store = openAuditStore(storeConfig(t.testdir(), { batchMax: 8, retryMs: 20, onFailure, retention: { maxAgeDays: 0 } }), logger);
    t.teardown(() => store.close());
    const circular: Record<string, unknown> = { a: '1' };
    circular.self = circular; // stands for any record an encoder refuses
    const records = Array.from({ length: 20 }, (_, i) => makeRecord({ requestId: `poison-${i}`, ...(i === 5 ? { query: circular as Record<string, string> } : {}) }));
    for (const record of records) t.ok(store.append(record));
    await store.flush();
    t.match(store.health(), { ok: true, written: 20, dropped: 0 });
    const stored = (await store.query({}, { limit: 100, withTotal: true }));
    t.equal(stored.total, 20, 'every record is in the trail');
    const reduced = stored.items.find((r) => r.requestId === 'poison-5')!;
    t.match(reduced, { id: records[5]!.id, organizationId: 'org-a', apiKeyId: 'key-1', path: '/v1/things', query: {}, outcomeDetail: /^stored reduced \(/ });
    t.ok(stored.items.filter((r) => r.requestId !== 'poison-5').every((r) => r.outcomeDetail === undefined), 'the others whole');
    t.match(lines.find((line) => String(line.msg).startsWith('audit record could not be stored as it was')), { level: 50, requestId: 'poison-5' });
    for (let i = 0; i < 5; i++) store.append(makeRecord());
    await store.flush();
    t.equal((await store.query({}, { limit: 100, withTotal: true })).total, 25, 'full batches again after it');
  });
}

t.test('issue 11: a batch the writer thread failed for one record is retried in halves with its raw bodies; every other record keeps its body, redacted', async (t) => {
  const store = openAuditStore(storeConfig(t.testdir(), { batchMax: 8, retryMs: 20, retention: { maxAgeDays: 0 } }), capturingLogger().logger);
  t.teardown(() => store.close());
  await until(() => store.writerThread!.ready);
  const circular: Record<string, unknown> = { a: '1' };
  circular.self = circular; // msgpack refuses it on the thread: the batch comes back and is tried in halves
  const records = Array.from({ length: 20 }, (_, i) => withRawBody(
    makeRecord({ requestId: `poison-${i}`, ...(i === 5 ? { query: circular as Record<string, string> } : {}) }),
    `{"n":${i},"password":"p${i}"}`,
  ));
  for (const record of records) store.append(record);
  await store.flush();
  const stored = (await store.query({}, { limit: 100 })).items;
  t.equal(stored.length, 20);
  for (const record of stored) {
    const i = Number(record.requestId.slice('poison-'.length));
    if (i === 5) t.match(record, { requestBody: null, requestBodyTruncated: true, outcomeDetail: /^stored reduced/ }, 'the poison, reduced');
    else t.equal(record.requestBody, `{"n":${i},"password":"${REDACTED}"}`, `record ${i}`);
  }
});

for (const writer of ['inline', 'thread'] as const) {
  t.test(`${writer} writer: a batch that fails after some of its records were put leaves none of them; each is committed once`, async (t) => {
    const path = t.testdir();
    const store = await openWith(writer, storeConfig(path, { batchMax: 8, retryMs: 20, retention: { maxAgeDays: 0 } }), capturingLogger().logger);
    // A country the count rollup cannot key (a number) fails the batch after its records, log entry and postings.
    const records = Array.from({ length: 20 }, (_, i) => makeRecord({ requestId: `late-${i}`, ...(i === 5 ? { country: 5 as unknown as string } : {}) }));
    for (const record of records) store.append(record);
    await store.flush();
    t.match(store.health(), { written: 20, dropped: 0 });
    t.equal(store.lastSeq(), 20, 'each record committed once');
    await store.close();
    const { problems, records: stored } = await checkConsistency(path);
    t.same(problems, []);
    t.equal(stored, 20);
  });
}
