import t from 'tap';
import { KEY, ORG_A_TOTAL, TRAFFIC, contractGet, type ContractGet, sendTraffic, startFixture, type Answer, type Fixture } from './fixtures/audit.js';

const PATH = '/v1/api-keys/requests';
const SEED_FIELDS = ['apiKeyId', 'clientIp', 'createdAt', 'durationMs', 'id', 'method', 'organizationId', 'path', 'principalId',
  'principalType', 'requestId', 'routePattern', 'serviceAccountId', 'statusCode', 'userAgent', 'userId'];
const INTEGER_FIELDS = new Set(['durationMs', 'statusCode']);

let f: Fixture;
let get: ContractGet;

t.before(async () => {
  f = await startFixture();
  await sendTraffic(f);
  get = await contractGet(f);
});
t.teardown(() => f.close());

/** The admin reads org-a: its own reads are recorded under org-admin, so org-a's totals stay fixed. */
function list(query: string, key: string = KEY.admin): Promise<Answer> {
  return get(PATH, `organizationId=org-a${query ? `&${query}` : ''}`, key);
}

async function allItems(query: string): Promise<any[]> {
  return (await list(`limit=100&${query}`)).body.data.items;
}

t.test('envelope and items follow the seed field for field', async (t) => {
  const answer = await list('');
  t.equal(answer.status, 200);
  t.same(Object.keys(answer.body), ['code', 'data', 'message', 'requestId']);
  t.equal(answer.body.code, 200);
  t.equal(answer.body.message, 'success');
  t.equal(answer.body.requestId, answer.headers['x-request-id'], 'requestId is this call\'s own');
  t.same(Object.keys(answer.body.data), ['hasMore', 'items', 'limit', 'offset', 'nextCursor']);
  t.same([answer.body.data.hasMore, answer.body.data.limit, answer.body.data.offset], [true, 20, 0]);
  t.equal(answer.body.data.items.length, 20);
  for (const item of answer.body.data.items) {
    t.same(Object.keys(item), SEED_FIELDS, 'exactly the sixteen fields, in order');
    for (const [name, value] of Object.entries(item)) {
      if (INTEGER_FIELDS.has(name)) t.ok(Number.isInteger(value), `${name} is an integer`);
      else t.ok(value === null || typeof value === 'string', `${name} is a string or null`);
    }
    t.equal(item.organizationId, 'org-a');
  }
  const service = (await allItems('serviceAccountId=sa-a1'))[0];
  t.match(service, { apiKeyId: 'key-a-service', clientIp: '203.0.113.7', method: 'POST', path: '/orders', principalId: 'key-a-service',
    principalType: 'api_key', serviceAccountId: 'sa-a1', statusCode: 200, userId: null, routePattern: String });
  t.match(service.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

t.test('newest first', async (t) => {
  const items = await allItems('');
  t.equal(items.length, ORG_A_TOTAL);
  for (let i = 1; i < items.length; i++) {
    t.ok(items[i - 1].id > items[i].id && items[i - 1].createdAt >= items[i].createdAt, `item ${i} is older than item ${i - 1}`);
  }
  t.equal(items.at(-1).path, '/things/0', 'the first request sent is last');
});

t.test('offset pages: no overlap, hasMore false only on the last page, empty past the end', async (t) => {
  const all = (await allItems('')).map((i) => i.id);
  const seen: string[] = [];
  for (let offset = 0; offset < ORG_A_TOTAL; offset += 10) {
    const { data } = (await list(`limit=10&offset=${offset}`)).body;
    t.equal(data.hasMore, offset + 10 < ORG_A_TOTAL, `hasMore at offset ${offset}`);
    t.equal(data.offset, offset);
    seen.push(...data.items.map((i: { id: string }) => i.id));
  }
  t.same(seen, all, 'pages concatenate to the full list');
  const exact = TRAFFIC.aPlain + TRAFFIC.aNotFound; // 28 = 4 pages of 7
  const last = (await list(`apiKeyId=key-a-plain&limit=7&offset=${exact - 7}`)).body.data;
  t.same([last.items.length, last.hasMore, last.nextCursor], [7, false, null], 'an exact multiple ends without a further page');
  for (const offset of [exact, 1000]) {
    const past = (await list(`apiKeyId=key-a-plain&offset=${offset}`)).body.data;
    t.same([past.items, past.hasMore], [[], false], `offset ${offset} is past the end`);
  }
});

t.test('cursor paging: no overlap, no gap, same order as offsets', async (t) => {
  const all = (await allItems('')).map((i) => i.id);
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const data: any = (await list(`limit=9${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).body.data;
    seen.push(...data.items.map((i: { id: string }) => i.id));
    t.equal(data.hasMore, data.nextCursor !== null, 'a next cursor exactly when there is more');
    cursor = data.nextCursor;
    pages++;
  } while (cursor && pages < 20);
  t.equal(pages, Math.ceil(ORG_A_TOTAL / 9));
  t.same(seen, all);
  const first = (await list('limit=5')).body.data.nextCursor;
  const bad = await list(`limit=5&offset=5&cursor=${encodeURIComponent(first)}`);
  t.same([bad.status, bad.body.message], [400, 'offset must be 0 or absent when cursor is given']);
  const other = await list(`limit=5&apiKeyId=key-a-plain&cursor=${encodeURIComponent(first)}`);
  t.equal(other.status, 400, 'a cursor made for other filters');
  t.match(other.body.message, /^cursor is not valid/);
  t.equal((await list('cursor=garbage')).status, 400);
});

t.test('each filter alone and combined', async (t) => {
  const cases: [string, number, (i: any) => boolean][] = [
    ['apiKeyId=key-a-plain', TRAFFIC.aPlain + TRAFFIC.aNotFound, (i) => i.apiKeyId === 'key-a-plain'],
    ['serviceAccountId=sa-a1', TRAFFIC.aService, (i) => i.serviceAccountId === 'sa-a1'],
    ['serviceAccountId=sa-jwt', TRAFFIC.jwtService, (i) => i.principalType === 'service_account'],
    ['userId=user-a1', TRAFFIC.aUser, (i) => i.apiKeyId === 'key-a-user'],
    ['userId=jwt-user-1', TRAFFIC.jwtUser, (i) => i.principalType === 'user'],
    ['method=post', TRAFFIC.aService, (i) => i.method === 'POST'],
    ['method=DELETE', TRAFFIC.aUser, (i) => i.method === 'DELETE'],
    ['statusCode=404', TRAFFIC.aNotFound, (i) => i.statusCode === 404],
    ['path=/orders', TRAFFIC.aService, (i) => i.path === '/orders'],
    ['apiKeyId=key-a-plain&statusCode=404', TRAFFIC.aNotFound, (i) => i.statusCode === 404 && i.apiKeyId === 'key-a-plain'],
    ['method=GET&path=/jobs', TRAFFIC.jwtService, (i) => i.path === '/jobs'],
    ['serviceAccountId=sa-a1&method=GET', 0, () => false],
    ['apiKeyId=key-b-plain', 0, () => false],
  ];
  for (const [query, count, predicate] of cases) {
    const items = await allItems(query);
    t.equal(items.length, count, query);
    t.ok(items.every(predicate), `${query}: every item matches`);
  }
});

t.test('from and to are inclusive ISO 8601 bounds on createdAt', async (t) => {
  const all = await allItems('');
  const [to, from] = [all[5].createdAt, all[15].createdAt];
  const expected = all.filter((i) => i.createdAt >= from && i.createdAt <= to).map((i) => i.id);
  t.ok(expected.length >= 11);
  t.same((await allItems(`from=${from}&to=${to}`)).map((i) => i.id), expected);
  t.same((await allItems(`from=${to}`)).map((i) => i.id), all.filter((i) => i.createdAt >= to).map((i) => i.id));
  t.same(await allItems('to=2000-01-01'), [], 'nothing before 2000');
  t.equal((await allItems('from=2000-01-01T00:00:00%2B01:00')).length, ORG_A_TOTAL, 'a zone offset is accepted');
});

t.test('every bad parameter is a 400 in the envelope, naming the parameter and the rule', async (t) => {
  const cases: [string, RegExp][] = [
    ['limit=0', /^limit must be an integer from 1 to 100$/],
    ['limit=101', /^limit must be an integer from 1 to 100$/],
    ['limit=abc', /^limit must be an integer from 1 to 100$/],
    ['limit=1e1', /^limit must be an integer/],
    ['limit=5.0', /^limit must be an integer/],
    ['offset=-1', /^offset must be an integer >= 0$/],
    ['limit=5&limit=6', /^limit must be given at most once$/],
    ['apiKeyId=a&apiKeyId=b', /^apiKeyId must be given at most once$/],
    ['colour=red', /^unknown parameter: colour$/],
    ['statusCode=abc', /^statusCode must be an integer from 0 to 599$/],
    ['method=G1', /^method must be an HTTP method/],
    ['path=orders', /^path must be a path starting with \/$/],
    ['from=yesterday', /^from must be an ISO 8601/],
    ['to=2024-02-30', /^to must be an ISO 8601/],
    ['from=2024-05-02&to=2024-05-01', /^to must not be before from$/],
  ];
  for (const [query, message] of cases) {
    const answer = await list(query);
    t.equal(answer.status, 400, query);
    t.same(Object.keys(answer.body), ['code', 'data', 'message', 'requestId']);
    t.same([answer.body.code, answer.body.data], [400, null]);
    t.match(answer.body.message, message, query);
    t.equal(answer.body.requestId, answer.headers['x-request-id']);
  }
});

t.test('HEAD answers the headers without a body', async (t) => {
  const answer = await f.get(`${PATH}?organizationId=org-a`, KEY.admin, 'HEAD');
  t.equal(answer.status, 200);
  t.equal(answer.body, '');
  t.ok(Number(answer.headers['content-length']) > 100, 'the length of the body a GET gets');
});
