import t from 'tap';
import { FORMULA_BODY, KEY, ORG_A_TOTAL, TRAFFIC, contractGet, type ContractGet, sendTraffic, startFixture, type Answer, type Fixture } from './fixtures/audit.js';

const PATH = '/v1/audit-logs';
const RECORD_FIELDS = ['timestamp', 'method', 'uri', 'request_id', 'request_body', 'query_params', 'request_headers', 'user_id',
  'user_type', 'organisation_id', 'workspace_id', 'response_status_code', 'resource_type', 'action', 'client_ip', 'country'];

let f: Fixture;
let get: ContractGet;

t.before(async () => {
  f = await startFixture();
  await sendTraffic(f);
  get = await contractGet(f);
});
t.teardown(() => f.close());

/** The admin reads org-a (its own reads are recorded under org-admin, so org-a's totals stay fixed). */
function logs(query: string, org = 'org-a'): Promise<Answer> {
  return get(PATH, `organisation_id=${org}${query ? `&${query}` : ''}`);
}

async function records(query: string): Promise<{ records: any[]; total: number }> {
  return (await logs(`page_size=100&${query}`)).body;
}

t.test('{records, total, next_cursor} with exactly the documented record fields', async (t) => {
  const answer = await logs('');
  t.equal(answer.status, 200);
  t.same(Object.keys(answer.body), ['records', 'total', 'next_cursor']);
  t.equal(answer.body.total, ORG_A_TOTAL);
  t.equal(answer.body.records.length, 20);
  for (const record of answer.body.records) {
    t.same(Object.keys(record), RECORD_FIELDS);
    t.equal(typeof record.response_status_code, 'number');
    for (const name of ['query_params', 'request_headers']) t.type(JSON.parse(record[name]), 'object', `${name} is a JSON string`);
  }
  const timestamps = answer.body.records.map((r: { timestamp: string }) => r.timestamp);
  t.same(timestamps, [...timestamps].sort().reverse(), 'newest first');
});

t.test('record contents: timestamp, uri, JSON strings, masked headers, captured bodies', async (t) => {
  const first = (await records('uri=/things/3')).records[0];
  t.match(first, { method: 'GET', uri: '/things/3', user_id: 'key-a-plain', user_type: 'api_key', organisation_id: 'org-a',
    workspace_id: null, response_status_code: 200, client_ip: '127.0.0.1', country: null });
  t.same(JSON.parse(first.query_params), { page: '3' });
  const headers = JSON.parse(first.request_headers);
  t.notOk(first.request_headers.includes(KEY.aPlain), 'the raw key is nowhere in the headers');
  t.match(headers.authorization, /^Bearer ak_…0001$/, 'the credential is masked to a hint');
  t.equal(first.request_body, null, 'no body captured for a GET without one');
  const orders = (await records('uri=/orders')).records;
  t.equal(orders.at(-1).request_body, FORMULA_BODY, 'a captured text body');
  t.same(JSON.parse(orders[0].request_body), { n: TRAFFIC.aService - 1, password: '[REDACTED]' }, 'captured JSON is redacted');
  t.match(orders[0], { user_id: 'key-a-service', user_type: 'api_key', workspace_id: 'ws-a1', client_ip: '203.0.113.7' });
});

t.test('user_type and user_id follow Portkey: users are user, keys and service accounts api_key', async (t) => {
  const user = await records('user_type=user');
  t.equal(user.total, TRAFFIC.jwtUser);
  t.ok(user.records.every((r) => r.user_type === 'user' && r.user_id === 'jwt-user-1'));
  const keys = await records('user_type=api_key');
  t.equal(keys.total, ORG_A_TOTAL - TRAFFIC.jwtUser);
  t.equal(keys.records.length, keys.total);
  t.ok(keys.records.every((r) => r.user_type === 'api_key'));
  t.equal(keys.records.filter((r) => r.user_id === 'sa-jwt').length, TRAFFIC.jwtService, 'a JWT service account is an api_key caller');
  const timestamps = keys.records.map((r) => r.timestamp);
  t.same(timestamps, [...timestamps].sort().reverse(), 'the merged principal types stay newest first');
  for (const [query, total] of [['user_id=key-a-plain', TRAFFIC.aPlain + TRAFFIC.aNotFound], ['user_id=jwt-user-1', TRAFFIC.jwtUser],
    ['user_id=sa-jwt', TRAFFIC.jwtService], ['user_id=key-a-service&user_type=api_key', TRAFFIC.aService],
    ['user_id=key-a-plain&user_type=user', 0], ['user_id=nobody', 0]] as const) {
    const answer = await records(query);
    t.equal(answer.total, total, query);
    t.equal(answer.records.length, total);
  }
});

t.test('each filter alone and combined; total counts every match', async (t) => {
  const all = (await records('')).records;
  const someRequest = all[7];
  const cases: [string, (r: any) => boolean][] = [
    ['method=POST', (r) => r.method === 'POST'],
    ['method=put', (r) => r.method === 'PUT'],
    ['method=DELETE', (r) => r.method === 'DELETE'],
    ['method=GET', (r) => r.method === 'GET'],
    ['uri=/profile', (r) => r.uri === '/profile'],
    [`request_id=${someRequest.request_id}`, (r) => r.request_id === someRequest.request_id],
    ['workspace_id=ws-a1', (r) => r.workspace_id === 'ws-a1'],
    ['response_status_code=404', (r) => r.response_status_code === 404],
    [`resource_type=${someRequest.resource_type}`, (r) => r.resource_type === someRequest.resource_type],
    [`action=${someRequest.action}`, (r) => r.action === someRequest.action],
    ['client_ip=203.0.113.7', (r) => r.client_ip === '203.0.113.7'],
    ['country=DE', (r) => r.country === 'DE'],
    ['method=GET&response_status_code=404&country=DE', (r) => r.response_status_code === 404 && r.country === 'DE'],
    ['method=POST&user_type=user', () => false],
  ];
  for (const [query, predicate] of cases) {
    const expected = all.filter(predicate);
    const answer = await records(query);
    t.equal(answer.total, expected.length, `${query}: total`);
    t.same(answer.records.map((r) => r.request_id), expected.map((r) => r.request_id), `${query}: records`);
  }
  t.equal((await records('method=POST')).total, TRAFFIC.aService);
  t.equal((await records('country=DE')).total, TRAFFIC.aNotFound);
});

t.test('start_time and end_time are inclusive', async (t) => {
  const all = (await records('')).records;
  const [end, start] = [all[3].timestamp, all[20].timestamp];
  const inRange = all.filter((r) => r.timestamp >= start && r.timestamp <= end);
  const answer = await records(`start_time=${start}&end_time=${end}`);
  t.equal(answer.total, inRange.length);
  t.same(answer.records.map((r) => r.request_id), inRange.map((r) => r.request_id));
  t.equal((await records('end_time=2001-01-01')).total, 0);
});

t.test('current_page and page_size: pages tile the list, total on every page, page_size 0 gives only the total', async (t) => {
  const all = (await records('')).records.map((r) => r.request_id);
  const seen: string[] = [];
  for (let page = 0; page * 10 < ORG_A_TOTAL; page++) {
    const body = (await logs(`page_size=10&current_page=${page}`)).body;
    t.equal(body.total, ORG_A_TOTAL, `total on page ${page}`);
    t.equal(body.records.length, Math.min(10, ORG_A_TOTAL - page * 10));
    seen.push(...body.records.map((r: { request_id: string }) => r.request_id));
  }
  t.same(seen, all, 'no overlap, no gap');
  t.same((await logs('page_size=0')).body, { records: [], total: ORG_A_TOTAL, next_cursor: null });
  t.same((await logs('current_page=100')).body, { records: [], total: ORG_A_TOTAL, next_cursor: null });
  const unionPages = [0, 1, 2, 3].map((page) => logs(`user_type=api_key&page_size=11&current_page=${page}`));
  const union = (await Promise.all(unionPages)).flatMap((a) => a.body.records.map((r: { request_id: string }) => r.request_id));
  t.same(union, (await records('user_type=api_key')).records.map((r) => r.request_id), 'merged principal types page the same way');
});

t.test('anything malformed is a 400 naming the parameter', async (t) => {
  const cases: [string, RegExp][] = [
    ['start_time=soon', /^start_time must be an ISO 8601/],
    ['end_time=2024-13-01', /^end_time must be an ISO 8601/],
    ['start_time=2024-05-02&end_time=2024-05-01T23:59:59Z', /^end_time must not be before start_time$/],
    ['page_size=101', /^page_size must be an integer from 0 to 100$/],
    ['current_page=-1', /^current_page must be an integer >= 0$/],
    ['user_type=robot', /^user_type must be user or api_key$/],
    ['response_status_code=2xx', /^response_status_code must be an integer from 0 to 599$/],
    ['method=', /^method must be an HTTP method/],
    ['uri=things', /^uri must be a path starting with \/$/],
    ['country=DE&country=FR', /^country must be given at most once$/],
    ['limit=5', /^unknown parameter: limit$/],
  ];
  for (const [query, message] of cases) {
    const answer = await logs(query);
    t.equal(answer.status, 400, query);
    t.same([answer.body.code, answer.body.data], [400, null]);
    t.match(answer.body.message, message, query);
  }
});

t.test('audit:read:all may name any organization or none', async (t) => {
  t.equal((await records('')).total, ORG_A_TOTAL);
  const orgB = (await logs('page_size=100', 'org-b')).body;
  t.equal(orgB.total, TRAFFIC.bPlain);
  t.ok(orgB.records.every((r: { organisation_id: string }) => r.organisation_id === 'org-b'));
  const everyone = (await f.get(`${PATH}?page_size=100`, KEY.admin)).body;
  t.ok(everyone.total >= ORG_A_TOTAL + TRAFFIC.bPlain + TRAFFIC.anonymous, 'every organization, and the anonymous');
  const orgs = new Set(everyone.records.map((r: { organisation_id: string | null }) => r.organisation_id));
  t.ok(orgs.has('org-a') && orgs.has('org-b') && orgs.has(null));
  t.ok(everyone.records.some((r: { user_type: string | null; user_id: string | null }) => r.user_type === null && r.user_id === null),
    'anonymous callers have no user_type or user_id');
});
