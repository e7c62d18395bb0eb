// Issue 7, item 3, on the audit endpoints: hostile parameters get a clear 400, and no way of asking for another
// organization's records (parameters, spellings, headers, claims, cursors, path variants) returns any of them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { cursorKey, encodeCursor } from '../../src/api/cursor.js';
import { FINGERPRINT_SECRET_FILE } from '../../src/principal/fingerprint-secret.js';
import { rawRequest } from '../helpers/raw.js';
import { KEY, jwtFor, sendTraffic, startFixture, type Answer, type Fixture } from '../api/fixtures/audit.js';

const REQUESTS = '/v1/api-keys/requests';
const LOGS = '/v1/audit-logs';
const EXPORT = '/v1/audit-logs/export';

let f: Fixture;
t.before(async () => {
  f = await startFixture();
  await sendTraffic(f);
});
t.teardown(() => f.close());

/** The records in any audit answer (items, records or NDJSON rows). */
function rowsIn(answer: Answer): any[] {
  const body = answer.body;
  if (typeof body === 'string') return body.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
  return body?.data?.items ?? body?.records ?? [];
}

function organizationsIn(answer: Answer): string[] {
  return rowsIn(answer).map((r) => r.organizationId ?? r.organisation_id);
}

/** A clear answer, and no record of org-b in it (the caller's own reads may mention org-b in their query). */
function refusedOrOwn(t: Test, answer: Answer, label: string): void {
  t.ok([200, 400, 403].includes(answer.status), `${label}: ${answer.status}`);
  t.ok(organizationsIn(answer).every((org) => org === 'org-a'), `${label}: only org-a records`);
  t.notOk(rowsIn(answer).some((r) => /key-b-/.test(String(r.apiKeyId ?? r.user_id))), `${label}: no org-b caller`);
  if (answer.status !== 200) t.notMatch(JSON.stringify(answer.body), /key-b-|\/b\/things/, `${label}: the refusal reveals nothing`);
}

t.test('every spelling of "another organization" is refused or confined to the caller\'s own', async (t) => {
  const cases: [string, number][] = [
    [`${REQUESTS}?organizationId=org-b`, 403],
    [`${LOGS}?organisation_id=org-b`, 403],
    [`${EXPORT}?organisation_id=org-b`, 403],
    [`${REQUESTS}?organizationId=org-a&organizationId=org-b`, 400],
    [`${REQUESTS}?organizationId=org-b&organizationId=org-a`, 400],
    [`${LOGS}?organisation_id=org-a&organisation_id=org-b`, 400],
    [`${REQUESTS}?organisation_id=org-b`, 400],
    [`${LOGS}?organizationId=org-b`, 400],
    [`${REQUESTS}?OrganizationId=org-b`, 400],
    [`${REQUESTS}?organizationid=org-b`, 400],
    [`${REQUESTS}?organizationId%5B%5D=org-b`, 400],
    [`${REQUESTS}?organizationId[$ne]=org-a`, 400],
    [`${REQUESTS}?__proto__[organizationId]=org-b`, 400],
    [`${REQUESTS}?constructor[prototype][organizationId]=org-b`, 400],
    [`${REQUESTS}?%6Frganization%49d=org-b`, 403],
    [`${REQUESTS}?organizationId=org-b%00`, 403],
    [`${REQUESTS}?organizationId=%20org-b`, 403],
    [`${REQUESTS}?organizationId=ORG-B`, 403],
    [`${REQUESTS}?organizationId=*`, 403],
    [`${REQUESTS}?organizationId=`, 400],
  ];
  for (const [probe, status] of cases) {
    const answer = await f.get(probe, KEY.aReader);
    t.equal(answer.status, status, `${probe}: ${status}`);
    refusedOrOwn(t, answer, probe);
  }
  t.equal(({} as Record<string, unknown>).organizationId, undefined, 'Object.prototype is untouched');
});

t.test('headers and claims cannot move a reader into another organization', async (t) => {
  const headers = {
    authorization: `Bearer ${KEY.aReader}`, 'x-organization-id': 'org-b', 'x-auth-request-org': 'org-b',
    'x-forwarded-org': 'org-b', 'x-auth-request-user': 'admin', 'x-portkey-organisation-id': 'org-b',
  };
  refusedOrOwn(t, await f.get(`${REQUESTS}?limit=100`, headers), 'organization headers with an org-a key');
  // The fixture trusts 127.0.0.1, so identity headers alone would name a user, but with no audit scope.
  const identityOnly = await f.get(`${LOGS}?page_size=100`, { 'x-auth-request-user': 'admin', 'x-auth-request-org': 'org-b' });
  t.equal(identityOnly.status, 403, 'trusted identity headers carry no audit:read scope');
  const arrayOrg = await jwtFor({ sub: 'u1', org_id: ['org-b'], scope: 'audit:read' });
  t.equal((await f.get(REQUESTS, { authorization: `Bearer ${arrayOrg}` })).status, 403, 'an array org claim is no organization');
  const objectOrg = await jwtFor({ sub: 'u1', org_id: { $ne: 'x' }, scope: 'audit:read' });
  t.equal((await f.get(REQUESTS, { authorization: `Bearer ${objectOrg}` })).status, 403, 'neither is an object one');
  const allScopeString = await jwtFor({ sub: 'u1', org_id: 'org-a', scope: ['audit:read', 'audit:read:all'].join(',') });
  refusedOrOwn(t, await f.get(`${REQUESTS}?organizationId=org-b`, { authorization: `Bearer ${allScopeString}` }), 'comma-joined scopes');
});

t.test('a cursor from another organization\'s page is refused', async (t) => {
  const bPage = await f.get(`${REQUESTS}?limit=2`, KEY.bReader);
  t.equal(bPage.status, 200);
  const cursor = bPage.body.data.nextCursor as string;
  t.type(cursor, 'string');
  const replayed = await f.get(`${REQUESTS}?limit=2&cursor=${encodeURIComponent(cursor)}`, KEY.aReader);
  t.equal(replayed.status, 400, 'bound to the filters it was made for');
  refusedOrOwn(t, replayed, 'replayed cursor');
  const forged = await f.get(`${REQUESTS}?cursor=${Buffer.from('[9e15,"zzzz"]').toString('base64url')}`, KEY.aReader);
  t.equal(forged.status, 400, 'a hand-made cursor');
});

t.test('issue 10, finding 10: a forged cursor is a 400, never a 500', async (t) => {
  // The cursor format before signing: base64url of [sha256(filter) prefix, store cursor]; the filter is public.
  const filter = [['organizationId', 'org-a']];
  const digest = createHash('sha256').update(JSON.stringify(filter)).digest('base64url').slice(0, 16);
  const unsigned = (storeCursor: string) => Buffer.from(JSON.stringify([digest, storeCursor])).toString('base64url');
  const position = Buffer.from(JSON.stringify([Date.now() + 60_000, 'z'])).toString('base64url');
  for (const [label, cursor] of [
    ['a filter digest with a store cursor that is not one', unsigned('%%%not-a-store-cursor')],
    ['a filter digest with a well-formed made-up position', unsigned(position)],
    ['a made-up position with a made-up tag', `${position}.${'A'.repeat(22)}`],
  ]) {
    const forged = await f.get(`${REQUESTS}?cursor=${encodeURIComponent(cursor!)}`, KEY.aReader);
    t.equal(forged.status, 400, label!);
    t.match(forged.body.message, /cursor is not valid/, label!);
  }
  // Signed with the installation's own key, yet not a position the store made: the store refuses it, still a 400.
  const secret = readFileSync(join(f.proxy.dataDir, FINGERPRINT_SECRET_FILE), 'utf8').trim();
  const signed = encodeCursor({ organizationId: 'org-a' }, 'not-a-store-cursor', cursorKey(secret))!;
  const refused = await f.get(`${REQUESTS}?cursor=${encodeURIComponent(signed)}`, KEY.aReader);
  t.same([refused.status, refused.body.message], [400, 'cursor is not valid (pass the nextCursor you were given unchanged)']);
});

t.test('path variants of the audit endpoints are not the audit endpoints: they go to the upstream, no records', async (t) => {
  const variants = [`${REQUESTS}/`, '/v1//api-keys/requests', '/V1/API-KEYS/REQUESTS', `${REQUESTS};org=org-b`, '/v1/api-keys/%72equests'];
  for (const path of variants) {
    const answer = await f.get(path, KEY.aReader);
    t.equal(answer.status, 200, `${path}: answered`);
    t.equal(answer.body.url, path, `${path}: by the upstream (echo), untouched`);
    t.notOk(JSON.stringify(answer.body).includes('key-b-plain'), `${path}: no audit data`);
  }
  const dotted = await rawRequest(f.proxy.port, `GET /v1/x/..${LOGS.slice(3)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  t.match(dotted, /^HTTP\/1\.1 400 [^]*dot segments/, 'dot segments are refused (400), neither resolved onto an audit endpoint nor forwarded');
});

t.test('hostile parameter values: 400 naming the parameter, or an empty page; never a crash', async (t) => {
  const expectations: [string, number, RegExp?][] = [
    [`${REQUESTS}?apiKeyId=${'k'.repeat(513)}`, 400, /apiKeyId must be at most 512/],
    [`${REQUESTS}?apiKeyId=${'%FF%FE'.repeat(10)}`, 200],
    [`${REQUESTS}?apiKeyId=%22%3B%20DROP%20TABLE%20records%3B--`, 200],
    [`${REQUESTS}?apiKeyId[$where]=1`, 400, /unknown parameter/],
    [`${REQUESTS}?path=%27%20OR%201%3D1--`, 400, /path must be a path/],
    [`${REQUESTS}?method=GET%3BDROP`, 400, /method must be/],
    [`${REQUESTS}?limit=1e1`, 400, /limit must be/],
    [`${REQUESTS}?limit=${'9'.repeat(400)}`, 400, /limit must be/],
    [`${REQUESTS}?statusCode=200&statusCode=500`, 400, /statusCode must be given at most once/],
    [`${LOGS}?start_time=2024-02-30`, 400, /start_time/],
    [`${LOGS}?uri=${encodeURIComponent('/things/1" OR "1"="1')}`, 200],
    [`${LOGS}?request_id=${'%E2%80%AE'.repeat(20)}`, 200],
    [`${EXPORT}?format=xlsx`, 400, /format/],
    [`${LOGS}?${Array.from({ length: 500 }, (_, i) => `p${i}=1`).join('&')}`, 400, /unknown parameters/],
  ];
  for (const [probe, status, message] of expectations) {
    const answer = await f.get(probe, KEY.aReader);
    t.equal(answer.status, status, `${probe.slice(0, 80)}: ${status}`);
    if (message) t.match(answer.body.message, message);
    if (status === 200) t.same(organizationsIn(answer), [], 'matches nothing');
  }
  t.equal((await f.get('/healthz')).status, 200, 'the proxy lives on');
});

t.test('a parameter named __proto__ pollutes nothing and shows only the caller\'s organization', async (t) => {
  const answer = await f.get(`${LOGS}?__proto__=x&page_size=100`, KEY.aReader);
  refusedOrOwn(t, answer, '__proto__=x');
  t.equal(({} as Record<string, unknown>).x, undefined, 'Object.prototype is untouched');
  t.equal(answer.status, 400, 'an unknown parameter named __proto__ is refused like any other');
});
