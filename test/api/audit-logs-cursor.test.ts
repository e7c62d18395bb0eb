import t from 'tap';
import { request } from 'undici';
import { cursorKey, encodeCursor } from '../../src/api/cursor.js';
import { KEY, ORG_A_TOTAL, TRAFFIC, contractGet, type ContractGet, sendTraffic, startFixture, type Answer, type Fixture } from './fixtures/audit.js';

const PATH = '/v1/audit-logs';

let f: Fixture;
let get: ContractGet;

t.before(async () => {
  f = await startFixture();
  await sendTraffic(f);
  get = await contractGet(f);
});
t.teardown(() => f.close());

function logs(query: string, key: string = KEY.admin): Promise<Answer> {
  return get(PATH, query, key);
}

/** Every page by cursor: the request ids in order, and how many pages it took. */
async function pageByCursor(query: string, pageSize: number, key?: string, between?: () => Promise<void>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const answer = await logs(`${query}&page_size=${pageSize}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, key);
    if (answer.status !== 200) throw new Error(JSON.stringify(answer.body));
    ids.push(...answer.body.records.map((r: { request_id: string }) => r.request_id));
    cursor = answer.body.next_cursor;
    pages++;
    await between?.();
  } while (cursor);
  return { ids, pages };
}

async function allIds(query: string): Promise<string[]> {
  return (await logs(`${query}&page_size=100`)).body.records.map((r: { request_id: string }) => r.request_id);
}

t.test('cursor pages tile the same list as one big page, for plain and merged (union) filters', async (t) => {
  for (const query of ['organisation_id=org-a', 'organisation_id=org-a&user_type=api_key', 'organisation_id=org-a&user_id=key-a-plain',
    'organisation_id=org-a&method=GET&response_status_code=404', 'organisation_id=org-b']) {
    const expected = await allIds(query);
    for (const size of [1, 6, 100]) {
      const { ids, pages } = await pageByCursor(query, size);
      t.same(ids, expected, `${query}, page_size ${size}`);
      t.equal(pages, Math.max(1, Math.ceil(expected.length / size)), 'the last full page says there is no more');
    }
  }
});

t.test('total stays every match on every cursor page', async (t) => {
  const first = (await logs('organisation_id=org-a&page_size=10')).body;
  const second = (await logs(`organisation_id=org-a&page_size=10&cursor=${first.next_cursor}`)).body;
  t.equal(first.total, ORG_A_TOTAL);
  t.equal(second.total, ORG_A_TOTAL);
  t.equal(second.records.length, 10);
  t.same((await logs('organisation_id=org-a&page_size=0')).body.next_cursor, null, 'page_size 0 gives only the total');
  t.same((await logs(`organisation_id=org-a&page_size=0&cursor=${first.next_cursor}`)).body, { records: [], total: ORG_A_TOTAL, next_cursor: null });
});

t.test('a live trail: records arriving between pages shift offset pages but never cursor pages', async (t) => {
  const query = 'user_type=api_key';
  const before = await logs(`${query}&page_size=100`, KEY.aReader);
  const snapshot = before.body.records.map((r: { request_id: string }) => r.request_id);
  // The org-a reader's own reads are recorded in org-a as api_key calls, so each page it reads adds a record.
  const arrivals = async () => {
    const res = await request(`${f.proxy.url}/things/live`, { headers: { authorization: `Bearer ${KEY.aPlain}` } });
    await res.body.dump();
    await f.flush();
  };
  const byCursor = await pageByCursor(query, 8, KEY.aReader, arrivals);
  // The first page may also hold the snapshot read itself (recorded once answered): nothing newer, nothing twice.
  const newer = byCursor.ids.length - snapshot.length;
  t.ok(newer === 0 || newer === 1, `${newer} record(s) newer than the snapshot`);
  t.same(byCursor.ids.slice(newer), snapshot, 'exactly the records that existed when paging began, each once');
  const byOffset: string[] = [];
  for (let page = 0; page * 8 < snapshot.length; page++) {
    const body = (await logs(`${query}&page_size=8&current_page=${page}`, KEY.aReader)).body;
    byOffset.push(...body.records.map((r: { request_id: string }) => r.request_id));
    await arrivals();
  }
  t.ok(new Set(byOffset).size < byOffset.length, 'offset pages repeat records on a live trail (why docs/api.md says: use the cursor)');
});

t.test('a cursor only continues the query it came from', async (t) => {
  const first = (await logs('organisation_id=org-a&page_size=5')).body;
  const cursor = encodeURIComponent(first.next_cursor);
  const refused = /^cursor is not valid for these filters \(pass next_cursor unchanged, with the same filters\)$/;
  for (const query of [`organisation_id=org-b&cursor=${cursor}`, `organisation_id=org-a&method=GET&cursor=${cursor}`,
    `organisation_id=org-a&user_type=user&cursor=${cursor}`, `organisation_id=org-a&user_id=key-a-plain&cursor=${cursor}`,
    `organisation_id=org-a&start_time=2020-01-01&cursor=${cursor}`, `organisation_id=org-a&cursor=${cursor}x`,
    'organisation_id=org-a&cursor=not-a-cursor', `organisation_id=org-a&cursor=${encodeCursor({ organizationId: 'org-a' }, 'not-a-store-cursor', cursorKey('another installation'))}`]) {
    const answer = await logs(query);
    t.equal(answer.status, 400, query);
    t.match(answer.body.message, refused);
  }
  const union = (await logs('organisation_id=org-a&user_type=api_key&page_size=5')).body.next_cursor;
  const other = await logs(`organisation_id=org-a&user_type=user&cursor=${encodeURIComponent(union)}`);
  t.equal(other.status, 400, 'a merged query\'s cursor is bound to its user_type too');
});

t.test('cursor parameter rules', async (t) => {
  const first = (await logs('organisation_id=org-a&page_size=5')).body;
  const cases: [string, RegExp][] = [
    [`cursor=${first.next_cursor}&current_page=1`, /^current_page must be 0 or absent when cursor is given$/],
    [`cursor=${first.next_cursor}&cursor=${first.next_cursor}`, /^cursor must be given at most once$/],
    ['cursor=', /^cursor must not be empty$/],
    [`cursor=${'A'.repeat(1025)}`, /^cursor must be at most 1024 characters$/],
  ];
  for (const [query, message] of cases) {
    const answer = await logs(`organisation_id=org-a&${query}`);
    t.equal(answer.status, 400, query.slice(0, 60));
    t.match(answer.body.message, message);
  }
  const explicitZero = await logs(`organisation_id=org-a&page_size=5&current_page=0&cursor=${first.next_cursor}`);
  t.equal(explicitZero.status, 200, 'current_page=0 beside a cursor is the default, so allowed');
  t.equal(explicitZero.body.records.length, 5);
});

t.test('huge and hostile paging values stay bounded', async (t) => {
  for (const query of ['current_page=999999999999999', 'current_page=999999999999999&user_type=api_key', 'current_page=999999999999999&page_size=100']) {
    const answer = await logs(`organisation_id=org-a&${query}`);
    t.same(answer.body, { records: [], total: answer.body.total, next_cursor: null }, query);
    t.ok(answer.body.total >= ORG_A_TOTAL);
  }
  for (const query of ['page_size=1000000', 'page_size=9999999999999999999999', 'current_page=9999999999999999', 'page_size=1e2',
    'page_size=0x64', 'page_size=%EF%BC%91', 'current_page=-0', 'page_size=100&page_size=1']) {
    const answer = await logs(query);
    t.equal(answer.status, 400, query);
    t.match(answer.body.message, /^(page_size|current_page) must /, query);
  }
  t.equal((await logs('organisation_id=org-b&page_size=100')).body.records.length, TRAFFIC.bPlain, 'page_size 100 is allowed');
});
