import t, { type Test } from 'tap';
import { request } from 'undici';
import { eventually } from '../helpers/eventually.js';
import { KEY, TRAFFIC, contractChecker, jwtFor, sendTraffic, startFixture, type Answer, type Fixture } from './fixtures/audit.js';
import { startTestProxy } from '../helpers/proxy.js';

const REQUESTS = '/v1/api-keys/requests';
const LOGS = '/v1/audit-logs';
const EXPORT = '/v1/audit-logs/export';

let f: Fixture;
let violation: (path: string, answer: Answer) => string | null;

t.before(async () => {
  f = await startFixture();
  await sendTraffic(f);
  violation = await contractChecker(f);
});
t.teardown(() => f.close());

function expectError(t: Test, answer: Answer, status: number, message: RegExp, path: string): void {
  t.equal(answer.status, status, `${path}: ${status}`);
  t.same(Object.keys(answer.body), ['code', 'data', 'message', 'requestId']);
  t.same([answer.body.code, answer.body.data, answer.body.requestId], [status, null, answer.headers['x-request-id']]);
  t.match(answer.body.message, message);
  if (path !== EXPORT) t.equal(violation(path, answer), null, `${path} ${status} follows the contract`);
}

t.test('401 without an accepted credential, with WWW-Authenticate', async (t) => {
  for (const path of [REQUESTS, LOGS, EXPORT]) {
    const none = await f.get(path);
    expectError(t, none, 401, /^authentication required/, path);
    t.equal(none.headers['www-authenticate'], 'Bearer realm="audit-proxy"');
    const unknown = await f.get(path, 'ak_nobody_knows_this_key_00000001');
    expectError(t, unknown, 401, /not recognised \(unknown_key\)/, path);
    t.match(unknown.headers['www-authenticate'], /^Bearer realm="audit-proxy", error="invalid_token"/);
  }
});

t.test('403 without audit:read', async (t) => {
  for (const path of [REQUESTS, LOGS, EXPORT]) {
    expectError(t, await f.get(path, KEY.aPlain), 403, /lacks the audit:read scope/, path);
  }
  const orphan = await jwtFor({ sub: 'someone', scope: 'audit:read' });
  expectError(t, await f.get(REQUESTS, { authorization: `Bearer ${orphan}` }), 403, /belongs to no organization/, REQUESTS);
});

t.test('audit:read naming another organization is refused, never answered with any data', async (t) => {
  expectError(t, await f.get(`${REQUESTS}?organizationId=org-b`, KEY.aReader), 403, /^organizationId names another organization/, REQUESTS);
  expectError(t, await f.get(`${LOGS}?organisation_id=org-b`, KEY.aReader), 403, /^organisation_id names another organization/, LOGS);
  expectError(t, await f.get(`${EXPORT}?organisation_id=org-b`, KEY.aReader), 403, /^organisation_id names another/, EXPORT);
  const own = await f.get(`${REQUESTS}?organizationId=org-a&limit=100`, KEY.aReader);
  t.equal(own.status, 200, 'naming its own organization is fine');
  t.ok(own.body.data.items.length >= 42);
});

t.test('org A never sees a record of org B, whatever the parameters', async (t) => {
  const probes = [
    `${REQUESTS}?limit=100`, `${REQUESTS}?apiKeyId=key-b-plain`, `${REQUESTS}?path=/b/things/1`, `${REQUESTS}?userId=key-b-plain`,
    `${LOGS}?page_size=100`, `${LOGS}?user_id=key-b-plain`, `${LOGS}?uri=/b/things/2`, `${LOGS}?user_type=api_key&page_size=100`,
  ];
  for (const probe of probes) {
    const answer = await f.get(probe, KEY.aReader);
    t.equal(answer.status, 200, probe);
    const orgs = (answer.body.data?.items ?? answer.body.records).map((r: any) => r.organizationId ?? r.organisation_id);
    t.ok(orgs.every((org: string) => org === 'org-a'), `${probe}: only org-a`);
    if (/b-plain|\/b\//.test(probe)) t.same(orgs, [], `${probe}: nothing`);
    if (answer.body.total !== undefined) t.ok(answer.body.total <= 100, 'total does not count org-b');
  }
  const exported = (await f.get(`${EXPORT}?format=ndjson`, KEY.aReader)).body as string;
  const rows = exported.trim().split('\n').map((line) => JSON.parse(line));
  t.ok(rows.length >= 42 && rows.every((r) => r.organisation_id === 'org-a'), 'the export too');
  const b = await f.get(`${LOGS}?page_size=100`, KEY.bReader);
  t.ok(b.body.records.every((r: any) => r.organisation_id === 'org-b'), 'and org B sees only its own');
  t.ok(b.body.total >= TRAFFIC.bPlain);
});

t.test('only GET and HEAD: anything else is 405 with Allow', async (t) => {
  for (const path of [REQUESTS, LOGS, EXPORT, '/openapi.json']) {
    for (const method of ['POST', 'DELETE', 'PUT']) {
      const res = await request(`${f.proxy.url}${path}`, { method, headers: { authorization: `Bearer ${KEY.aReader}` } });
      const body = await res.body.json() as { code: number; message: string };
      t.equal(res.statusCode, 405, `${method} ${path}`);
      t.equal(res.headers.allow, 'GET, HEAD');
      t.same([body.code, body.message], [405, `${method} is not allowed here; use GET`]);
    }
  }
  t.equal(f.upstream.seen.filter((s) => s.url.startsWith('/v1/')).length, 0, 'nothing on the audit paths reached the upstream');
});

t.test('reads of the audit endpoints are recorded as audit_logs/read, refusals included', async (t) => {
  // A read is recorded once its answer has gone out, so the client can be ahead of its record: wait for both in the
  // store (a wait through the endpoint would record reads of its own).
  const store = f.proxy.services.store!;
  const readsSoFar = async () => (await store.query({ organizationId: 'org-a', resourceType: 'audit_logs' }, { limit: 1, withTotal: true })).total ?? 0;
  await store.flush();
  const before = await readsSoFar();
  await f.get(`${LOGS}?method=POST`, KEY.aReader);
  await f.get(REQUESTS, KEY.aPlain);
  await eventually(async () => {
    await store.flush();
    return await readsSoFar() >= before + 2;
  });
  const { records } = (await f.get(`${LOGS}?organisation_id=org-a&resource_type=audit_logs&action=read&page_size=100`, KEY.admin)).body;
  t.ok(records.length >= 2);
  t.ok(records.every((r: any) => r.resource_type === 'audit_logs' && r.action === 'read'));
  t.match(records[0], { uri: REQUESTS, user_id: 'key-a-plain', response_status_code: 403, method: 'GET' }, 'who was refused');
  t.match(records[1], { uri: LOGS, user_id: 'key-a-reader', response_status_code: 200, query_params: '{"method":"POST"}' }, 'who looked');
  const items = (await f.get(`${REQUESTS}?organizationId=org-a&path=${LOGS}&limit=1`, KEY.admin)).body.data.items;
  t.match(items[0], { routePattern: LOGS, statusCode: 200, apiKeyId: 'key-a-reader' });
});

t.test('the OpenAPI document is public, unrecorded, and names the configured paths', async (t) => {
  const answer = await f.get('/openapi.json');
  t.equal(answer.status, 200);
  t.equal(answer.body.openapi, '3.1.0');
  t.same(Object.keys(answer.body.paths).sort(),
    [REQUESTS, LOGS, EXPORT, `${REQUESTS}/details`, `${LOGS}/checkpoint`, `${LOGS}/proof`, `${LOGS}/records`, `${LOGS}/stats`, '/healthz', '/readyz', '/metrics', '/openapi.json'].sort());
  await f.flush();
  const recorded = (await f.get(`${LOGS}?uri=/openapi.json`, KEY.admin)).body;
  t.equal(recorded.total, 0, 'not recorded');

  const moved = await startTestProxy(f.upstream.url, {
    auth: { keys: [] }, audit: { basePath: '/_audit', auditLogsPath: '/logs' }, paths: { openapi: '/_meta/openapi.json' },
  });
  t.teardown(() => moved.close());
  const doc = await (await request(`${moved.url}/_meta/openapi.json`)).body.json() as { paths: Record<string, unknown> };
  t.ok(doc.paths['/_audit/logs'] && doc.paths['/_audit/api-keys/requests'] && doc.paths['/_audit/audit-logs/export']);
  t.notOk(doc.paths[LOGS], 'the default path is not claimed');
  t.equal((await request(`${moved.url}/_audit/logs`)).statusCode, 401, 'the moved endpoint is answered');
  const forwarded = await request(`${moved.url}${LOGS}`);
  t.match(await forwarded.body.json(), { url: LOGS }, 'the old path now reaches the upstream');
});
