// Schema 4 -> 5 (long values keyed by hash, key-value.ts), on a store written by version 4 (test/store/fixtures/v4-store,
// see make-v4-store.ts) holding organizations, paths and users over 256 bytes as they were: opened read-write, their
// keys move to the hashes, and every filter finds the same records as before.
import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { open, type Key } from 'lmdb';
import { openAuditStore, SCHEMA_VERSION } from '../../src/store/index.js';
import { MAX_KEYED_BYTES } from '../../src/audit/key-value.js';
import type { AuditFilter } from '../../src/store/store.js';
import { capturingLogger, checkConsistency, storeConfig } from './fixtures/helpers.js';
import { V4_LONG_ORG, V4_LONG_PATH, V4_LONG_USER, v4FixtureRecords } from './fixtures/v4-records.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/v4-store', import.meta.url));
const KEYED_DATABASES = ['post_org_time', 'post_org_userId', 'post_org_requestId', 'stats_count'];

/** Keys of the index databases holding a string longer than index keys keep. */
async function longKeys(path: string): Promise<number> {
  const env = open({ path, noSubdir: false, maxDbs: 32, readOnly: true });
  let found = 0;
  for (const name of KEYED_DATABASES) {
    for (const key of env.openDB<Buffer, Key>({ name, encoding: 'binary' }).getKeys()) {
      if (Array.isArray(key) && key.some((part) => typeof part === 'string' && Buffer.byteLength(part) > MAX_KEYED_BYTES)) found++;
    }
  }
  await env.close();
  return found;
}

const FILTERS: [string, AuditFilter][] = [
  ['long organization', { organizationId: V4_LONG_ORG }],
  ['long organization + long user (postings)', { organizationId: V4_LONG_ORG, userId: V4_LONG_USER }],
  ['long organization + long path (count rollup)', { organizationId: V4_LONG_ORG, path: V4_LONG_PATH }],
  ['short organization + long path', { organizationId: 'org-short', path: V4_LONG_PATH }],
  ['long user as a Portkey pair', { organizationId: V4_LONG_ORG, principalType: 'user', userId: V4_LONG_USER }],
];

t.test('opened read-write, a version 4 store moves long values to hashed keys and finds every record', async (t) => {
  const path = t.testdir();
  cpSync(FIXTURE, path, { recursive: true });
  t.ok(await longKeys(path) > 0, 'the fixture holds long values in its keys');
  const { logger, lines } = capturingLogger();
  const store = openAuditStore(storeConfig(path, { retention: { maxAgeDays: 0 } }), logger);
  const records = v4FixtureRecords();
  for (const [name, filter] of FILTERS) {
    const expected = records.filter((r) => Object.entries(filter).every(([field, value]) => r[field as keyof typeof r] === value));
    t.ok(expected.length > 0, `${name}: the fixture holds matches`);
    const result = await store.query(filter, { limit: 100, withTotal: true });
    t.same(result.items.map((r) => r.requestId).sort(), expected.map((r) => r.requestId).sort(), `${name}: every match`);
    t.equal(result.total, expected.length, `${name}: its total`);
  }
  await store.close();
  t.equal(await longKeys(path), 0, 'no key holds a long value any more');
  t.same((await checkConsistency(path)).problems, [], 'every record sits in exactly its postings');
  const env = open({ path, noSubdir: false, maxDbs: 32, readOnly: true });
  t.equal(env.openDB({ name: 'meta' }).get('schemaVersion'), SCHEMA_VERSION);
  await env.close();
  t.match(lines.find((line) => String(line.msg).includes('rewritten by hash')), { keys: Number }, 'the move is logged');
});
