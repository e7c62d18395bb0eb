import { Portkey } from 'portkey-ai';
import t from 'tap';
import { KEY, ORG_A_TOTAL, TRAFFIC, sendTraffic, startFixture, type Fixture } from './fixtures/audit.js';
import { portkeyChecker } from './fixtures/portkey.js';

/** The official SDK (no audit-logs method in 3.x) reaches the endpoint through its generic get. */
let f: Fixture;
const check = portkeyChecker('all');

t.before(async () => {
  f = await startFixture();
  await sendTraffic(f);
});
t.teardown(() => f.close());

function client(apiKey: string, extra: Record<string, string> = {}): Portkey {
  return new Portkey({ apiKey, baseURL: `${f.proxy.url}/v1`, ...extra });
}

/** The SDK's error for a call that must fail (it throws APIError subclasses built from the answer's body). */
async function failure(call: Promise<unknown>): Promise<{ name: string; status: number; message: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as { constructor: { name: string }; status: number; message: string };
    return { name: e.constructor.name, status: e.status, message: e.message };
  }
  throw new Error('the call succeeded');
}

t.test('a Portkey client reads /audit-logs with x-portkey-api-key and gets Portkey\'s shape', async (t) => {
  const newest = (await client(KEY.admin).get('/audit-logs?organisation_id=org-a&page_size=1')) as any;
  const query = new URLSearchParams({ start_time: '2000-01-01T00:00:00Z', end_time: newest.records[0].timestamp, organisation_id: 'org-a', page_size: '100' });
  const answer = (await client(KEY.aReader).get(`/audit-logs?${query}`)) as any;
  t.equal(answer.total, ORG_A_TOTAL, 'org-a\'s traffic (the admin\'s read is recorded under its own organization)');
  t.equal(answer.records.length, answer.total);
  const { getHeaders: _, ...body } = answer;
  t.same(check(body).violations, [], 'Portkey\'s AuditLogObjectList, but for documented deviations');
  t.ok(answer.records.some((r: any) => r.method === 'POST' && r.user_id === 'key-a-service'));
  t.equal(typeof answer.getHeaders, 'function', 'the SDK parsed the answer as JSON');
});

t.test('the reader\'s own calls are in the trail, keyed by its x-portkey-api-key', async (t) => {
  const reader = client(KEY.aReader);
  // The previous test's reads are recorded when their responses close, which may come just after the client's
  // last byte: flush and read until one is there (each read is itself recorded only after it is answered).
  let answer: any;
  for (let tries = 0; tries < 50; tries++) {
    await f.flush();
    answer = await reader.get('/audit-logs?uri=/v1/audit-logs&page_size=100');
    if (answer.total >= 1) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.ok(answer.total >= 1);
  t.ok(answer.records.every((r: any) => r.user_id === 'key-a-reader' && r.action === 'read' && r.resource_type === 'audit_logs'));
  t.match(JSON.parse(answer.records[0].request_headers)['x-portkey-api-key'], /…/, 'the key is masked to a hint');
});

t.test('paging through the SDK: next_cursor and current_page', async (t) => {
  const admin = client(KEY.admin);
  const pages: string[] = [];
  let cursor: string | null = null;
  do {
    const page: any = await admin.get(`/audit-logs?user_id=key-a-plain&page_size=7${cursor ? `&cursor=${cursor}` : ''}`);
    pages.push(...page.records.map((r: any) => r.request_id));
    cursor = page.next_cursor;
  } while (cursor);
  t.equal(pages.length, TRAFFIC.aPlain + TRAFFIC.aNotFound);
  t.equal(new Set(pages).size, pages.length, 'no record twice');
  const second: any = await admin.get('/audit-logs?user_id=key-a-plain&page_size=7&current_page=1');
  t.same(second.records.map((r: any) => r.request_id), pages.slice(7, 14));
});

t.test('errors reach the SDK user as the proxy\'s top-level message', async (t) => {
  t.same(await failure(client(KEY.aReader).get('/audit-logs?page_size=500')),
    { name: 'BadRequestError', status: 400, message: 'page_size must be an integer from 0 to 100' });
  t.same(await failure(client(KEY.aReader).get('/audit-logs?start_time=yesterday')),
    { name: 'BadRequestError', status: 400, message: 'start_time must be an ISO 8601 date or date-time, e.g. 2026-11-23T11:21:44Z or 20261123T112144Z (no zone means UTC)' });
  t.same(await failure(client(KEY.aReader).get('/audit-logs?organisation_id=org-b')),
    { name: 'PermissionDeniedError', status: 403, message: 'organisation_id names another organization; reading other organizations needs the audit:read:all scope' });
  t.same(await failure(client(KEY.aPlain).get('/audit-logs')),
    { name: 'PermissionDeniedError', status: 403, message: 'the credential lacks the audit:read scope needed to read audit records' });
  const unknown = await failure(client('ak_not_a_known_key_00000000000000').get('/audit-logs'));
  t.match(unknown, { name: 'AuthenticationError', status: 401 });
  t.match(unknown.message, /\(unknown_key\)$/, 'the proxy\'s message, not a JSON dump of the body');
});
