import { readFileSync } from 'node:fs';
import t from 'tap';
import { request } from 'undici';
import { KEY, ORG_A_TOTAL, TRAFFIC, sendTraffic, startFixture, type Answer, type Fixture } from './fixtures/audit.js';
import { DEVIATIONS, PORTKEY, portkeyChecker } from './fixtures/portkey.js';

const PATH = '/v1/audit-logs';
type Record = { [field: string]: any };

let f: Fixture;
/** The one record with every Portkey field set (country and workspace included). */
let full: Record;
let all: Record[];
const check = portkeyChecker('all');
const deviationsSeen = new Set<string>();

t.before(async () => {
  f = await startFixture();
  await sendTraffic(f);
  const res = await request(`${f.proxy.url}/orders/full?x=1`, {
    method: 'POST', body: '{"n":1}',
    headers: { 'x-portkey-api-key': KEY.aService, 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.9', 'x-country': 'FR' },
  });
  await res.body.dump();
  await f.flush();
  all = (await portkey('organisation_id=org-a&page_size=100')).body.records;
  full = all.find((r) => r.uri === '/orders/full')!;
});
t.teardown(() => f.close());

/** A 200 that a Portkey client accepts, but for the documented deviations. */
async function portkey(query: string): Promise<Answer> {
  const answer = await f.get(`${PATH}?${query}`, KEY.admin);
  if (answer.status !== 200) throw new Error(`${query}: ${answer.status} ${JSON.stringify(answer.body)}`);
  const { violations, used } = check(answer.body);
  if (violations.length > 0) throw new Error(`${query} breaks Portkey's AuditLogObjectList: ${violations.join('; ')}`);
  for (const name of used) deviationsSeen.add(name);
  return answer;
}

/** A value of each Portkey parameter that matches some of org-a's records, and what a match means. */
function samples(): { [name: string]: { values: string[]; matches(r: Record, value: string): boolean } } {
  const middle = all[Math.floor(all.length / 2)]!;
  return {
    start_time: { values: [middle.timestamp], matches: (r, v) => r.timestamp >= v },
    end_time: { values: [middle.timestamp], matches: (r, v) => r.timestamp <= v },
    organisation_id: { values: ['org-a'], matches: (r, v) => r.organisation_id === v },
    method: { values: PORTKEY.parameters.find((p) => p.name === 'method')!.schema.enum!, matches: (r, v) => r.method === v },
    uri: { values: ['/orders'], matches: (r, v) => r.uri === v },
    request_id: { values: [middle.request_id], matches: (r, v) => r.request_id === v },
    user_id: { values: ['key-a-service', 'jwt-user-1'], matches: (r, v) => r.user_id === v },
    user_type: { values: PORTKEY.parameters.find((p) => p.name === 'user_type')!.schema.enum!, matches: (r, v) => r.user_type === v },
    workspace_id: { values: ['ws-a1'], matches: (r, v) => r.workspace_id === v },
    response_status_code: { values: ['404'], matches: (r, v) => r.response_status_code === Number(v) },
    resource_type: { values: [full.resource_type], matches: (r, v) => r.resource_type === v },
    action: { values: [full.action], matches: (r, v) => r.action === v },
    client_ip: { values: ['203.0.113.7'], matches: (r, v) => r.client_ip === v },
    country: { values: ['DE', 'FR'], matches: (r, v) => r.country === v },
    current_page: { values: ['1'], matches: () => true },
    page_size: { values: ['0', '5', '100'], matches: () => true },
  };
}

t.test('the fixture names its source', async (t) => {
  t.equal(PORTKEY.source.repository, 'https://github.com/Portkey-AI/openapi');
  t.equal(PORTKEY.source.path, 'openapi.yaml');
  t.match(PORTKEY.source.commit, /^[0-9a-f]{40}$/);
  t.ok(PORTKEY.parameters.length >= 16, 'every parameter of /audit-logs');
});

t.test('every parameter of Portkey\'s spec, alone, filters as it says', async (t) => {
  const cases = samples();
  t.same(PORTKEY.parameters.map((p) => p.name).filter((name) => !cases[name]), [], 'a sample for every parameter the spec has');
  for (const { name } of PORTKEY.parameters) {
    for (const value of cases[name]!.values) {
      const query = `${name}=${encodeURIComponent(value)}`;
      // organisation_id=org-a bounds the others to org-a's fixed traffic (the admin's own reads are recorded under org-admin).
      const body = (await portkey(name === 'organisation_id' ? query : `organisation_id=org-a&${query}`)).body;
      const expected = all.filter((r) => cases[name]!.matches(r, value));
      t.equal(body.total, expected.length, `${query}: total counts every match`);
      t.ok(body.records.every((r: Record) => cases[name]!.matches(r, value)), `${query}: every record matches`);
      if (name !== 'current_page' && name !== 'page_size') t.ok(expected.length > 0, `${query} matches something`);
    }
  }
  const none = (await portkey('')).body;
  t.ok(none.total > ORG_A_TOTAL + TRAFFIC.bPlain, 'no parameter at all: audit:read:all reads every organization');
});

t.test('paging parameters: page_size alone, current_page alone, and both', async (t) => {
  t.equal((await portkey('organisation_id=org-a')).body.records.length, 20, 'page_size defaults to 20');
  t.same((await portkey('organisation_id=org-a&page_size=5')).body.records, all.slice(0, 5));
  t.same((await portkey('organisation_id=org-a&current_page=1')).body.records, all.slice(20, 40));
  t.same((await portkey('organisation_id=org-a&current_page=2&page_size=7')).body.records, all.slice(14, 21));
});

t.test('every pair of parameters with the three Portkey requires, and all of them at once', async (t) => {
  const required = `start_time=${encodeURIComponent(all.at(-1)!.timestamp)}&end_time=${encodeURIComponent(all[0]!.timestamp)}&organisation_id=org-a`;
  t.same(PORTKEY.parameters.filter((p) => p.required).map((p) => p.name), ['start_time', 'end_time', 'organisation_id']);
  t.equal((await portkey(`${required}&page_size=100`)).body.total, ORG_A_TOTAL + 1);
  const cases = samples();
  const optional = PORTKEY.parameters.filter((p) => !p.required && !['current_page', 'page_size'].includes(p.name)).map((p) => p.name);
  for (const [i, a] of optional.entries()) {
    for (const b of optional.slice(i + 1)) {
      const [va, vb] = [cases[a]!.values[0]!, cases[b]!.values[0]!];
      const body = (await portkey(`${required}&${a}=${encodeURIComponent(va)}&${b}=${encodeURIComponent(vb)}&page_size=100`)).body;
      const expected = all.filter((r) => cases[a]!.matches(r, va) && cases[b]!.matches(r, vb));
      t.same(body.records.map((r: Record) => r.request_id), expected.map((r) => r.request_id), `${a} and ${b}`);
      t.equal(body.total, expected.length);
    }
  }
  const everything = optional.map((name) => `${name}=${encodeURIComponent(String(full[name]))}`).join('&');
  const one = (await portkey(`${required}&${everything}&current_page=0&page_size=1`)).body;
  t.same(one, { records: [full], total: 1, next_cursor: null }, 'every parameter at once finds exactly the record they describe');
  t.equal((await portkey(`${required}&${everything.replace('country=FR', 'country=DE')}`)).body.total, 0);
});

t.test('only documented deviations were needed, and docs/api.md lists each', async (t) => {
  const docs = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  const section = docs.slice(docs.indexOf('### Differences from Portkey'));
  t.ok(section.length > 0 && docs.includes('### Differences from Portkey'));
  for (const d of DEVIATIONS) t.ok(section.includes(`**${d.documentedAs}**`), `docs/api.md documents "${d.documentedAs}"`);
  t.ok(deviationsSeen.has('null where unknown') && deviationsSeen.has('every method by default'), [...deviationsSeen].join(', '));
  t.same(check({ records: [{ uri: 5 }], total: '1' }).violations.length, 2, 'the checker does catch real breaks');
  t.same(portkeyChecker('portkey')({ records: [{ method: 'GET' }], total: 1 }).violations.length, 1, 'GET breaks a strict client');
});

t.test('times: extended, basic, with and without a zone, all mean the same instant', async (t) => {
  const instant = new Date(all[10]!.timestamp);
  const iso = instant.toISOString(); // 2026-11-23T11:21:44.123Z
  const basic = iso.replaceAll('-', '').replaceAll(':', '');
  const plusOne = new Date(instant.getTime() + 3600_000).toISOString().replace('Z', '+01:00');
  const expected = all.filter((r) => r.timestamp >= iso).length;
  for (const value of [iso, iso.slice(0, -1), basic, basic.slice(0, -1), plusOne, plusOne.replace('+01:00', '+0100')]) {
    t.equal((await portkey(`organisation_id=org-a&page_size=0&start_time=${encodeURIComponent(value)}`)).body.total, expected, value);
  }
  const spaced = await f.get(`${PATH}?start_time=${plusOne}`, KEY.admin);
  t.equal(spaced.status, 400, 'an unencoded + arrives as a space');
  t.match(spaced.body.message, /^start_time must be an ISO 8601 .*send it as %2B$/);
});

t.test('extreme and hostile times: the whole calendar is a range, nonsense is a 400 on both endpoints', async (t) => {
  const widest = await portkey('organisation_id=org-a&page_size=0&start_time=0000-01-01&end_time=99991231T235959.999999999Z');
  t.equal(widest.body.total, ORG_A_TOTAL + 1, 'year 0 to year 9999');
  t.equal((await portkey('organisation_id=org-a&page_size=0&start_time=9999-12-31')).body.total, 0);
  const hostile = ['start_time=2026-11-23T11:21:44%2B24:00', 'end_time=2026-02-29', 'start_time=20261123T1121440Z',
    `start_time=${'9'.repeat(5000)}`, 'end_time=2026-11-23T11:21:44Z%00', 'start_time=2026-11-23T11:21:44Z&start_time=2026-11-24',
    'start_time=2026-11-24&end_time=2026-11-23T23:59:59.999'];
  for (const endpoint of [PATH, `${PATH}/export`]) {
    for (const query of hostile) {
      const answer = await f.get(`${endpoint}?organisation_id=org-a&${query}`, KEY.admin);
      t.equal(answer.status, 400, `${endpoint}?${query.slice(0, 50)}`);
      t.match(answer.body.message, /^(start_time|end_time) must /);
    }
  }
  const cursorOnExport = await f.get(`${PATH}/export?cursor=abc`, KEY.admin);
  t.same([cursorOnExport.status, cursorOnExport.body.message], [400, 'unknown parameter: cursor'], 'the export streams everything, it takes no cursor');
});

t.test('audit.auditLogsMethods portkey: only POST, PUT and DELETE, unless a method is asked for', async (t) => {
  const strict = await startFixture({ audit: { auditLogsMethods: 'portkey' } });
  t.teardown(() => strict.close());
  await sendTraffic(strict);
  const strictCheck = portkeyChecker('portkey');
  const read = async (query: string) => {
    const answer = await strict.get(`${PATH}?organisation_id=org-a&${query}`, KEY.admin);
    t.equal(answer.status, 200, query);
    t.same(strictCheck(answer.body).violations, [], `${query}: a strict Portkey client accepts it`);
    return answer.body;
  };
  const writes = TRAFFIC.aService + TRAFFIC.aUser + TRAFFIC.jwtUser;
  const body = await read('page_size=100');
  t.equal(body.total, writes);
  t.same(new Set(body.records.map((r: Record) => r.method)), new Set(['POST', 'PUT', 'DELETE']));
  t.equal((await read('user_type=api_key')).total, TRAFFIC.aService + TRAFFIC.aUser, 'methods and principal types combine');
  t.equal((await read('user_id=jwt-user-1')).total, TRAFFIC.jwtUser);
  t.equal((await read('method=PUT')).total, TRAFFIC.jwtUser);
  const gets = await strict.get(`${PATH}?organisation_id=org-a&method=GET&page_size=0`, KEY.admin);
  t.equal(gets.body.total, TRAFFIC.aPlain + TRAFFIC.aNotFound + TRAFFIC.jwtService, 'an explicit method=GET still answers GETs');
  const exported = await strict.get(`${PATH}/export?organisation_id=org-a`, KEY.admin);
  const rows = exported.body.trim().split('\n').map((line: string) => JSON.parse(line));
  t.equal(rows.length, writes, 'the export keeps the same scope');
  t.ok(rows.every((r: Record) => ['POST', 'PUT', 'DELETE'].includes(r.method)));
  const everything = await strict.get(`${PATH}/export?organisation_id=org-a&method=get`, KEY.admin);
  t.equal(everything.body.trim().split('\n').length, gets.body.total);
});
