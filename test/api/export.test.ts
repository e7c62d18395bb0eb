import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import t from 'tap';
import { request } from 'undici';
import { EXPORT_COLUMNS, answerExport } from '../../src/api/export.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { RequestContext } from '../../src/pipeline/context.js';
import type { AuditStore } from '../../src/store/store.js';
import { FORMULA_BODY, KEY, ORG_A_TOTAL, TRAFFIC, sendTraffic, startFixture, type Fixture } from './fixtures/audit.js';

const EXPORT = '/v1/audit-logs/export';
let f: Fixture;

t.before(async () => {
  f = await startFixture();
  await sendTraffic(f);
});
t.teardown(() => f.close());

/** RFC 4180: quoted cells may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++; } else cell += c;
  }
  return rows;
}

/** The listing's records plus the export's response_body (null here: this fixture captures no response bodies). */
async function listing(query: string): Promise<any[]> {
  const { records } = (await f.get(`/v1/audit-logs?organisation_id=org-a&page_size=100&${query}`, KEY.admin)).body;
  return records.map((record: object) => ({ ...record, response_body: null }));
}

t.test('NDJSON: every match, newest first, the audit-logs record shape', async (t) => {
  const res = await request(`${f.proxy.url}${EXPORT}?organisation_id=org-a`, { headers: { authorization: `Bearer ${KEY.admin}` } });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'application/x-ndjson; charset=utf-8');
  t.equal(res.headers['content-disposition'], 'attachment; filename="audit-logs.ndjson"');
  t.equal(res.headers['x-content-type-options'], 'nosniff');
  const listed = await request(`${f.proxy.url}/v1/audit-logs?organisation_id=org-a`, { headers: { authorization: `Bearer ${KEY.admin}` } });
  await listed.body.dump();
  t.equal(listed.headers['x-content-type-options'], 'nosniff', 'JSON answers too');
  const rows = (await res.body.text()).trimEnd().split('\n').map((line) => JSON.parse(line));
  t.equal(rows.length, ORG_A_TOTAL);
  t.same(rows, await listing(''), 'the same rows as the listing, in the same order');
  const filtered = (await f.get(`${EXPORT}?organisation_id=org-a&user_type=api_key&method=get`, KEY.admin)).body as string;
  t.same(filtered.trimEnd().split('\n').map((line) => JSON.parse(line)), await listing('user_type=api_key&method=GET'), 'filters apply');
});

t.test('CSV: header row, RFC 4180 quoting, formulas neutralised', async (t) => {
  const answer = await f.get(`${EXPORT}?organisation_id=org-a&format=csv&uri=/orders`, KEY.admin);
  t.equal(answer.headers['content-type'], 'text/csv; charset=utf-8');
  const [header, ...rows] = parseCsv(answer.body as string);
  t.same(header, [...EXPORT_COLUMNS]);
  t.equal(rows.length, TRAFFIC.aService);
  const expected = await listing('uri=/orders');
  rows.forEach((row, i) => {
    const record = expected[i];
    t.same(row, EXPORT_COLUMNS.map((c) => (record[c] === null ? '' : String(record[c]).replace(/^([=+\-@])/, "'$1"))), `row ${i}`);
  });
  t.equal(rows.at(-1)![EXPORT_COLUMNS.indexOf('request_body')], `'${FORMULA_BODY}`, 'a formula body is shown, not evaluated');
  t.match(answer.body, `"'=HYPERLINK(""http://evil.example"",""click, here"")"`, 'quotes doubled, comma kept inside the quoted cell');
  t.same(JSON.parse(rows[0]![EXPORT_COLUMNS.indexOf('query_params')]!), {}, 'JSON cells survive the round trip');
});

t.test('bad parameters are 400; paging parameters do not apply', async (t) => {
  for (const [query, message] of [['format=xml', /^format must be ndjson or csv$/], ['page_size=10', /^unknown parameter: page_size$/],
    ['start_time=2024-05-02&end_time=2024-05-01', /^end_time must not be before start_time$/]] as const) {
    const answer = await f.get(`${EXPORT}?${query}`, KEY.admin);
    t.equal(answer.status, 400, query);
    t.match(answer.body.message, message);
  }
});

function fakeRecord(i: number): AuditRecord {
  return { id: `id-${String(1e9 - i)}`, requestId: `r${i}`, createdAt: new Date(1e12 - i).toISOString(), method: 'GET', path: `/p/${i}`,
    query: {}, routePattern: '/p/:id', resourceType: 'p', action: 'read', statusCode: 200, outcome: 'completed', durationMs: 1,
    ttfbMs: 1, requestBytes: 0, responseBytes: 0, clientIp: '127.0.0.1', country: null, userAgent: null, principalType: 'user',
    principalId: 'u', apiKeyId: null, serviceAccountId: null, userId: 'u', organizationId: 'o', workspaceId: null, authError: null,
    requestHeaders: { 'x-padding': 'x'.repeat(500) }, requestBody: null, requestBodyTruncated: false, responseBody: null, upstream: 'http://u' };
}

t.test('backpressure: a client that does not read stops the iteration; one that leaves ends it', async (t) => {
  let pulled = 0;
  let ended = false;
  const store = { *iterate() {
    try { for (;;) yield fakeRecord(pulled++); } finally { ended = true; }
  } } as unknown as AuditStore;
  const server = createServer((req, res) => {
    const ctx = new RequestContext(req, res, 'req-1', '127.0.0.1');
    ctx.principal = { ...ctx.principal, authenticated: true, scopes: ['audit:read:all'] };
    void answerExport(ctx, store, 'all');
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const res = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/?format=csv`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const stalled = pulled;
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(pulled, stalled, 'nothing more is read from the store while the client reads nothing');
  t.ok(stalled < 50_000, `bounded by socket buffers (${stalled} rows)`);
  t.notOk(ended);
  res.body.destroy();
  for (let i = 0; i < 50 && !ended; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  t.ok(ended, 'the store iteration is closed when the client goes away');
});
