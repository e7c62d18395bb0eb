import t from 'tap';
import { KEY, ORG_A_TOTAL, TRAFFIC, contractGet, type ContractGet, sendTraffic, startFixture, type Answer, type Fixture } from './fixtures/audit.js';

const PATH = '/v1/audit-logs/records';

let f: Fixture;
let get: ContractGet;

t.before(async () => {
  f = await startFixture();
  await sendTraffic(f);
  get = await contractGet(f);
});
t.teardown(() => f.close());

/** The admin reads org-a (its own reads are recorded under org-admin, so org-a's records stay fixed). */
function read(query: string, key: string = KEY.admin): Promise<Answer> {
  return get(PATH, query, key);
}

/** Every page of a query, following nextCursor. */
async function allPages(query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pages = 0;
  for (let cursor: string | null = null; ;) {
    const answer = await read(`${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (answer.status !== 200) throw new Error(JSON.stringify(answer.body));
    pages++;
    ids.push(...answer.body.data.items.map((r: { id: string }) => r.id));
    cursor = answer.body.data.nextCursor;
    if (!answer.body.data.hasMore) return { ids, pages };
  }
}

t.test('whole records, newest first, paged by cursor to the end without repeats', async (t) => {
  const first = await read('organizationId=org-a&limit=5');
  t.equal(first.status, 200);
  t.equal(first.body.data.items.length, 5);
  const record = first.body.data.items[0];
  t.match(record, { organizationId: 'org-a', outcome: 'completed', requestHeaders: Object, query: Object });
  t.notOk(JSON.stringify(first.body).includes(KEY.aPlain), 'no raw key in any record');
  const { ids, pages } = await allPages('organizationId=org-a', 7);
  t.equal(ids.length, ORG_A_TOTAL);
  t.equal(new Set(ids).size, ids.length, 'no record twice');
  t.equal(pages, Math.ceil(ORG_A_TOTAL / 7));
  t.same(ids, [...ids].sort().reverse(), 'newest first across pages (UUIDv7 order)');
});

t.test('status class and route filters are checked record by record and page by cursor', async (t) => {
  const notFound = await allPages('organizationId=org-a&statusClass=4xx', 2);
  t.equal(notFound.ids.length, TRAFFIC.aNotFound);
  const things = await read('organizationId=org-a&routePattern=/status&limit=100');
  t.equal(things.body.data.items.length, TRAFFIC.aNotFound);
  t.ok(things.body.data.items.every((r: { statusCode: number }) => r.statusCode === 404));
  const posts = await read('organizationId=org-a&method=post&statusClass=2xx&limit=100');
  t.equal(posts.body.data.items.length, TRAFFIC.aService);
  const none = await read('organizationId=org-a&statusClass=5xx');
  t.same(none.body.data, { items: [], hasMore: false, limit: 50, nextCursor: null });
});

t.test('the caller\'s own organization only, unless audit:read:all', async (t) => {
  const own = await read('limit=100', KEY.bReader);
  t.equal(own.status, 200);
  t.ok(own.body.data.items.every((r: { organizationId: string }) => r.organizationId === 'org-b'));
  t.equal((await read('organizationId=org-a', KEY.bReader)).status, 403);
  t.equal((await read('', KEY.aPlain)).status, 403, 'no audit:read scope');
  t.equal((await read('', 'ak_unknown_key_000000000000000001')).status, 401);
});

t.test('bad parameters and foreign cursors are 400s naming the problem', async (t) => {
  const page = await read('organizationId=org-a&limit=2');
  const cursor = encodeURIComponent(page.body.data.nextCursor);
  const replayed = await read(`organizationId=org-a&statusClass=2xx&cursor=${cursor}`);
  t.equal(replayed.status, 400);
  t.match(replayed.body.message, /cursor is not valid for these filters/);
  t.match((await read('statusClass=6xx')).body.message, /statusClass must be one of/);
  t.match((await read('limit=101')).body.message, /limit must be an integer from 1 to 100/);
  t.match((await read('from=2026-01-02&to=2026-01-01')).body.message, /to must not be before from/);
  t.match((await read('colour=red')).body.message, /unknown parameter: colour/);
});

t.test('reads are recorded as audit_logs/read', async (t) => {
  await read('organizationId=org-b&limit=1');
  await f.flush();
  const own = await read('organizationId=org-admin&limit=100');
  const reads = own.body.data.items.filter((r: { path: string }) => r.path === PATH);
  t.ok(reads.length > 0);
  t.match(reads[0], { resourceType: 'audit_logs', action: 'read', routePattern: PATH });
});
