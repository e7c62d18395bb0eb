import t from 'tap';
import pg from 'pg';
import { PostgresReader, timeWindows } from '../../src/fleet/postgres-reader.js';
import { PostgresSink } from '../../src/fleet/postgres-sink.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { encodeAll } from '../helpers/fleet.js';
import { endPool, startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { capturingLogger, makeRecord } from '../store/fixtures/helpers.js';

const DAY_MS = 86_400_000;

let postgres: TestPostgres;
t.before(async () => {
  postgres = await startTestPostgres();
});
t.teardown(() => postgres.close());

/** Records today, a few days, weeks and months back (one per time window a page walks), and one in the future. */
async function spreadRecords(url: string): Promise<AuditRecord[]> {
  const now = Date.now();
  const ages = [-DAY_MS, 0, 60_000, 2 * DAY_MS, 3 * DAY_MS, 20 * DAY_MS, 40 * DAY_MS, 100 * DAY_MS, 400 * DAY_MS];
  const records = ages.map((age, i) => ({ ...makeRecord({ ms: now - age, organizationId: 'org-w', path: `/a\tb\\c\nd/${i}` }), seq: i + 1 }));
  const sink = new PostgresSink({ connection: { connectionString: url }, nodeId: 'n1', partitionsAheadDays: 2, retentionDays: 0 }, capturingLogger().logger);
  await sink.prepare();
  await sink.write(records, encodeAll(sink, records));
  await sink.close();
  return records.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
}

t.test('pages walk the time windows newest first: cursors, bounds and escaped text come back exactly', async (t) => {
  const url = await postgres.database();
  const expected = await spreadRecords(url);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  t.teardown(() => endPool(pool));
  const reader = new PostgresReader(pool);

  const seen: AuditRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await reader.query({ organizationId: 'org-w' }, { limit: 2, ...(cursor ? { cursor } : {}) });
    seen.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  t.same(seen.map((r) => r.id), expected.map((r) => r.id), 'every record once, newest first, across windows');
  t.same(seen.map((r) => r.path), expected.map((r) => r.path), 'tab, backslash and newline survive COPY');

  const first = await reader.query({ organizationId: 'org-w' }, { limit: 4 });
  t.same(first.items.map((r) => r.id), expected.slice(0, 4).map((r) => r.id), 'one page spans the future, today and days back');
  const bounded = await reader.query({ organizationId: 'org-w', fromMs: Date.now() - 50 * DAY_MS, toMs: Date.now() - 10 * DAY_MS }, { limit: 10 });
  t.same(bounded.items.map((r) => r.id), expected.slice(5, 7).map((r) => r.id), 'the filter bounds hold inside each window');
  const offset = await reader.query({ organizationId: 'org-w' }, { limit: 3, offset: 5 });
  t.same(offset.items.map((r) => r.id), expected.slice(5, 8).map((r) => r.id), 'an offset counts across every window');
  const all: AuditRecord[] = [];
  for await (const record of reader.iterate({ organizationId: 'org-w' })) all.push(record);
  t.equal(all.length, expected.length);
});

t.test('windows the filter or the cursor leave empty are not queried', async (t) => {
  const now = Date.UTC(2026, 10, 23, 12);
  const today = Date.UTC(2026, 10, 23);
  t.same(timeWindows(now, {}, undefined), [
    { fromMs: today }, { fromMs: today - 7 * DAY_MS, toMs: today }, { fromMs: today - 37 * DAY_MS, toMs: today - 7 * DAY_MS },
    { toMs: today - 37 * DAY_MS },
  ]);
  t.same(timeWindows(now, { fromMs: today - DAY_MS }, undefined), [{ fromMs: today }, { fromMs: today - 7 * DAY_MS, toMs: today }]);
  t.same(timeWindows(now, {}, { ms: today - 10 * DAY_MS, id: 'x' }), [
    { fromMs: today - 37 * DAY_MS, toMs: today - 7 * DAY_MS }, { toMs: today - 37 * DAY_MS },
  ]);
  t.same(timeWindows(now, { toMs: today - 100 * DAY_MS }, undefined), [{ toMs: today - 37 * DAY_MS }]);
});
