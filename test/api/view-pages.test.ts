// Issue 11: reader threads answer the API's pages as JSON text in the endpoint's view; the same bytes as the
// records serialized on the event loop, and the same page as a store without reader threads gives.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { ingest } from '../../bench/store.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { apiKeyRequestItem, auditLogRecord, type RecordView } from '../../src/audit/views.js';
import { storeSchema } from '../../src/config/sections/store.js';
import { openAuditStore } from '../../src/store/index.js';
import { PooledReadStore } from '../../src/store/read-pool/readers-store.js';
import { jsonArray, queryView } from '../../src/api/view-pages.js';
import { queryUnion } from '../../src/api/union.js';

t.test('a reader thread serializes a page as the event loop would, for both views and a cursor page', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-proxy-view-pages-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = storeSchema.parse({ path: dir, retention: { maxAgeDays: 0 } });
  const writer = openAuditStore(config, pino({ enabled: false }));
  await ingest(writer, 2_000);
  const pooled = new PooledReadStore(writer, { store: config, size: 1, timeoutMs: 30_000, logger: pino({ enabled: false }) });
  t.teardown(() => pooled.close());
  const filter = { organizationId: 'org-3' };
  const first = await writer.query(filter, { limit: 20, withTotal: true });
  const cursorPage = { limit: 20, cursor: first.nextCursor! };
  const second = await writer.query(filter, cursorPage);
  const shapes: [RecordView, (r: AuditRecord) => object][] = [['apiKeyRequests', apiKeyRequestItem], ['auditLogs', auditLogRecord]];
  for (const [view, shape] of shapes) {
    for (const [page, records] of [[{ limit: 20, withTotal: true }, first], [cursorPage, second]] as const) {
      const threaded = await queryView(pooled, filter, page, view);
      const inPlace = await queryView(writer, filter, page, view);
      t.equal(jsonArray(threaded.items), JSON.stringify(records.items.map(shape)), `${view}: the thread's JSON is the records' JSON`);
      t.same(threaded, inPlace, `${view}: a store without reader threads gives the same page`);
      t.same(threaded.items.map((item) => item.id), records.items.map((r) => r.id));
      t.equal(threaded.nextCursor, records.nextCursor);
      t.equal(threaded.total, records.total);
    }
  }
});

t.test('a union page by offset, merged or walked, is the page of the filter it splits', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-proxy-union-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = openAuditStore(storeSchema.parse({ path: dir, retention: { maxAgeDays: 0 } }), pino({ enabled: false }));
  t.teardown(() => store.close());
  await ingest(store, 2_000);
  // The bench's records are all by API keys or service accounts: the two filters split "everything".
  const split = [{ principalType: 'api_key' }, { principalType: 'service_account' }];
  for (const offset of [0, 10, 990, 1_500, 2_000]) {
    const union = await queryUnion(store, split, 20, { offset }, 'apiKeyRequests');
    const whole = await store.query({}, { limit: 20, offset, withTotal: true });
    t.same(union.items.map((item) => item.id), whole.items.map((r) => r.id), `offset ${offset}: the same records`);
    t.equal(union.total, 2_000);
    t.equal(union.hasMore, whole.hasMore, `offset ${offset}: hasMore`);
  }
});
