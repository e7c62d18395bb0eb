import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { sha256 } from '../../src/principal/digest.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy.js';
import { TestUpstream } from '../helpers/upstream.js';

/** Raw keys of the test registry (only their digests go into the config). */
export const KEY = {
  aReader: 'ak_test_org_a_reader_000000000001',
  aPlain: 'ak_test_org_a_plain_0000000000001',
  aService: 'ak_test_org_a_service_00000000001',
  aUser: 'ak_test_org_a_user_00000000000001',
  bReader: 'ak_test_org_b_reader_000000000001',
  bPlain: 'ak_test_org_b_plain_0000000000001',
  admin: 'ak_test_admin_all_orgs_0000000001',
  nowhere: 'ak_test_reader_without_org_000001',
} as const;

const JWT_SECRET = 'a-test-secret-of-at-least-32-bytes!!';

function entry(id: string, key: string, organizationId: string, extra: Record<string, unknown> = {}) {
  return { id, sha256: sha256(key).toString('hex'), organizationId, ...extra };
}

export const keyEntries = [
  entry('key-a-reader', KEY.aReader, 'org-a', { scopes: ['audit:read'] }),
  entry('key-a-plain', KEY.aPlain, 'org-a'),
  entry('key-a-service', KEY.aService, 'org-a', { serviceAccountId: 'sa-a1', workspaceId: 'ws-a1' }),
  entry('key-a-user', KEY.aUser, 'org-a', { userId: 'user-a1' }),
  entry('key-b-reader', KEY.bReader, 'org-b', { scopes: ['audit:read'] }),
  entry('key-b-plain', KEY.bPlain, 'org-b'),
  entry('key-admin', KEY.admin, 'org-admin', { scopes: ['audit:read:all'] }),
];

/** Requests sent by each caller in `sendTraffic`, for exact totals. */
export const TRAFFIC = { aPlain: 25, aNotFound: 3, aService: 7, aUser: 2, jwtUser: 3, jwtService: 2, bPlain: 12, anonymous: 3 };
export const ORG_A_TOTAL = TRAFFIC.aPlain + TRAFFIC.aNotFound + TRAFFIC.aService + TRAFFIC.aUser + TRAFFIC.jwtUser + TRAFFIC.jwtService;
export const FORMULA_BODY = '=HYPERLINK("http://evil.example","click, here")';

export interface Fixture {
  upstream: TestUpstream;
  proxy: TestProxy;
  /** GET through the proxy with a raw key (or headers); the body parsed as JSON. */
  get(path: string, key?: string | Record<string, string>, method?: 'GET' | 'HEAD' | 'POST'): Promise<Answer>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

export async function startFixture(overrides: Record<string, unknown> = {}): Promise<Fixture> {
  const upstream = await new TestUpstream().start();
  upstream.routes.set('/status', (req, res) => {
    res.statusCode = Number(new URL(req.url!, 'http://x').searchParams.get('code'));
    res.end();
  });
  const proxy = await startTestProxy(upstream.url, {
    auth: { keys: keyEntries, jwt: { secret: JWT_SECRET } },
    trustProxy: ['127.0.0.1'],
    client: { countryHeader: 'x-country' },
    log: { level: 'warn' },
    ...overrides,
  });
  const get = async (path: string, key?: string | Record<string, string>, method: 'GET' | 'HEAD' | 'POST' = 'GET'): Promise<Answer> => {
    const headers = typeof key === 'string' ? { authorization: `Bearer ${key}` } : key ?? {};
    const res = await request(`${proxy.url}${path}`, { method, headers });
    const text = await res.body.text();
    const json = res.headers['content-type']?.toString().startsWith('application/json') && text ? JSON.parse(text) : text;
    return { status: res.statusCode, headers: res.headers, body: json };
  };
  return {
    upstream, proxy, get,
    flush: () => proxy.services.store!.flush(),
    close: async () => {
      await proxy.close();
      await upstream.stop();
    },
  };
}

export function jwtFor(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('1h')
    .sign(new TextEncoder().encode(JWT_SECRET));
}

/** Real traffic through the proxy, one request at a time so arrival order is creation order. */
export async function sendTraffic(f: Fixture): Promise<void> {
  const send = async (path: string, headers: Record<string, string>, method = 'GET', body?: string) => {
    const res = await request(`${f.proxy.url}${path}`, { method, headers, body });
    await res.body.dump();
  };
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  for (let i = 0; i < TRAFFIC.aPlain; i++) await send(`/things/${i}?page=${i}`, bearer(KEY.aPlain));
  for (let i = 0; i < TRAFFIC.aNotFound; i++) await send('/status?code=404', { 'x-api-key': KEY.aPlain, 'x-country': 'DE' });
  for (let i = 0; i < TRAFFIC.aService; i++) {
    const body = i === 0 ? FORMULA_BODY : JSON.stringify({ n: i, password: 'hunter2' });
    await send('/orders', { 'x-portkey-api-key': KEY.aService, 'content-type': i === 0 ? 'text/plain' : 'application/json',
      'x-forwarded-for': '203.0.113.7' }, 'POST', body);
  }
  for (let i = 0; i < TRAFFIC.aUser; i++) await send('/things/1', bearer(KEY.aUser), 'DELETE');
  const userToken = await jwtFor({ sub: 'jwt-user-1', org_id: 'org-a' });
  for (let i = 0; i < TRAFFIC.jwtUser; i++) await send('/profile', { authorization: `Bearer ${userToken}` }, 'PUT', '{}');
  const serviceToken = await jwtFor({ sub: 'robot', org_id: 'org-a', service_account_id: 'sa-jwt' });
  for (let i = 0; i < TRAFFIC.jwtService; i++) await send('/jobs', { authorization: `Bearer ${serviceToken}` });
  for (let i = 0; i < TRAFFIC.bPlain; i++) await send(`/b/things/${i}`, bearer(KEY.bPlain));
  for (let i = 0; i < TRAFFIC.anonymous; i++) await send('/anon', {});
  await f.flush();
}

/** Validates a JSON answer against the response schema the proxy's own OpenAPI document gives that path and status. */
export async function contractChecker(f: Fixture): Promise<(path: string, answer: Answer) => string | null> {
  const document = (await f.get(f.proxy.config.paths.openapi)).body;
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(document, 'openapi.json');
  return (path, answer) => {
    const pointer = `/paths/${escape(path)}/get/responses/${answer.status}/content/application~1json/schema`;
    const validate = ajv.getSchema(`openapi.json#${pointer}`);
    if (!validate) return `no schema for ${path} ${answer.status}`;
    return validate(answer.body) ? null : ajv.errorsText(validate.errors);
  };
}

function escape(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}
