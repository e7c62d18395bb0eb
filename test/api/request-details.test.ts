import t from 'tap';
import { request } from 'undici';
import { KEY, contractChecker, startFixture, type Fixture } from './fixtures/audit.js';

const DETAILS = '/v1/api-keys/requests/details';
const EXPORT = '/v1/audit-logs/export';
let f: Fixture;

t.before(async () => {
  f = await startFixture({ capture: { responseBody: { enabled: true, maxBytes: 1024 } } });
  f.upstream.routes.set('/broken', (_req, res) => {
    res.writeHead(422, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'quantity must be positive', token: 'leaked-upstream-token' }));
  });
});
t.teardown(() => f.close());

async function call(path: string, requestId: string, key: string, init: { method?: 'POST'; body?: string } = {}): Promise<void> {
  const res = await request(`${f.proxy.url}${path}`, {
    method: init.method ?? 'GET', body: init.body,
    headers: { authorization: `Bearer ${key}`, 'x-request-id': requestId, 'content-type': 'application/json' },
  });
  await res.body.dump();
}

t.test('the details endpoint answers everything recorded of a request, captured response body included', async (t) => {
  await call('/broken?dry=1', 'req-details-1', KEY.aPlain, { method: 'POST', body: '{"quantity":-1}' });
  await f.flush();
  const check = await contractChecker(f);
  const answer = await f.get(`${DETAILS}?requestId=req-details-1`, KEY.aReader);
  t.equal(answer.status, 200);
  t.equal(check(DETAILS, answer), null, 'the answer matches the OpenAPI document');
  const [item] = answer.body.data.items;
  t.match(item, {
    requestId: 'req-details-1', statusCode: 422, apiKeyId: 'key-a-plain', outcome: 'completed', outcomeDetail: null,
    query: { dry: '1' }, requestBody: '{"quantity":-1}', requestBodyTruncated: false,
    responseBody: /quantity must be positive/,
  });
  t.notMatch(item.responseBody, 'leaked-upstream-token', 'redacted like every captured body');
  t.match(item.requestHeaders.authorization, /^Bearer ak_…/, 'credentials masked');
});

t.test('the details endpoint is scoped like the list: another organization gets 404, a bad call 400, none 401', async (t) => {
  await call('/broken', 'req-details-2', KEY.aPlain);
  await f.flush();
  const check = await contractChecker(f);
  const other = await f.get(`${DETAILS}?requestId=req-details-2`, KEY.bReader);
  t.equal(other.status, 404);
  t.equal(check(DETAILS, other), null);
  t.match(other.body.message, 'no record with requestId req-details-2');
  const admin = await f.get(`${DETAILS}?requestId=req-details-2`, KEY.admin);
  t.equal(admin.status, 200, 'audit:read:all reads every organization');
  const missing = await f.get(DETAILS, KEY.aReader);
  t.equal(missing.status, 400);
  t.match(missing.body.message, /requestId/);
  t.equal((await f.get(`${DETAILS}?requestId=x`)).status, 401);
});

t.test('the export carries the captured response body in its last column', async (t) => {
  await call('/broken', 'req-details-3', KEY.aPlain);
  await f.flush();
  const ndjson = await f.get(`${EXPORT}?request_id=req-details-3`, KEY.aReader);
  const row = JSON.parse(String(ndjson.body).trim()) as Record<string, unknown>;
  t.match(row, { request_id: 'req-details-3', response_status_code: 422, response_body: /quantity must be positive/ });
  const csv = String((await f.get(`${EXPORT}?request_id=req-details-3&format=csv`, KEY.aReader)).body);
  t.match(csv.split('\r\n')[0], /,country,response_body$/);
});
