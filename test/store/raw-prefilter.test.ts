// A residual filter skips records whose stored bytes lack its values before decoding them (raw-prefilter.ts): every
// match is still found, for values of any script and length, and bytes left over in lmdb-js's shared buffer after a
// value never pass for it.
import t from 'tap';
import { open, type Key } from 'lmdb';
import { pino } from 'pino';
import { openAuditStore } from '../../src/store/index.js';
import { mayMatch } from '../../src/store/raw-prefilter.js';
import type { AuditFilter } from '../../src/store/store.js';
import { makeRecord, storeConfig } from './fixtures/helpers.js';

const VALUES = ['/a', '/v1/things', '/é/ü', '/東京/駅', '/😀/x', `/${'a'.repeat(30)}`, `/${'b'.repeat(31)}`, `/${'c'.repeat(254)}`, `/${'é'.repeat(200)}`, ''];

t.test('residual filters find exactly the matches, whatever the script and length of their values', async (t) => {
  const store = openAuditStore(storeConfig(t.testdir(), { retention: { maxAgeDays: 0 } }), pino({ enabled: false }));
  t.teardown(() => store.close());
  const records = Array.from({ length: 200 }, (_, i) => makeRecord({
    path: VALUES[i % VALUES.length]!, workspaceId: i % 3 === 0 ? `ws-${VALUES[i % 7]}` : null, action: i % 2 ? 'read' : 'reader',
  }));
  for (const record of records) store.append(record);
  await store.flush();
  const filters: AuditFilter[] = [
    ...VALUES.map((path) => ({ organizationId: 'org-a', path })),
    ...VALUES.map((path) => ({ path })),
    { organizationId: 'org-a', action: 'read' }, { organizationId: 'org-a', action: 'reade' },
    { organizationId: 'org-a', workspaceId: `ws-${VALUES[3]}`, path: VALUES[3]! },
    { organizationId: 'org-a', path: '/v1/things/not-there' },
  ];
  for (const filter of filters) {
    const expected = records.filter((r) => Object.entries(filter).every(([field, value]) => r[field as keyof typeof r] === value));
    const page = await store.query(filter, { limit: 500, withTotal: true });
    t.same(page.items.map((r) => r.id).sort(), expected.map((r) => r.id).sort(), JSON.stringify(filter).slice(0, 80));
    t.equal(page.total, expected.length);
  }
});

t.test('bytes after a value in the shared buffer never pass for it', async (t) => {
  const env = open({ path: t.testdir(), noSubdir: false, maxDbs: 2 });
  t.teardown(() => env.close());
  const db = env.openDB<unknown, Key>({ name: 'r', sharedStructuresKey: Symbol.for('structures') });
  db.putSync([1, 'long'], { path: `/long/${'x'.repeat(500)}/needle-in-the-tail` });
  db.putSync([2, 'short'], { path: '/s' });
  const needle = Buffer.from('needle-in-the-tail');
  t.ok(mayMatch(db.getBinaryFast([1, 'long']), [needle]), 'found where it is');
  const short = db.getBinaryFast([2, 'short'])!;
  t.notOk(mayMatch(short, [needle]), 'not in the short value, though its buffer still holds the long one');
  t.notOk(mayMatch(undefined, [needle]), 'a missing record matches nothing');
});
