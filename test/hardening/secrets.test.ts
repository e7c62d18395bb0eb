// Issue 7, item 5: known secrets in every credential position and every redacted body field, then the LMDB files
// and every log line are scanned byte for byte: no secret may appear, whole or by its unique middle.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { sha256 } from '../../src/principal/digest.js';
import { TestUpstream } from '../helpers/upstream.js';
import { recordsOf, startTestProxy } from '../helpers/proxy.js';

/** Each secret has a unique middle; hints may keep at most its first 3 and last 4 characters. */
const secret = (name: string) => `sk_live_${name}_Qz7Xv9Lm2Np4Rt6W_a1b2`;
const S = {
  registryKey: secret('REGISTRYKEY'), unknownKey: secret('XAPIKEY'), portkey: secret('PORTKEY'), tenant: secret('TENANTKEY'),
  basicPassword: secret('BASICPASSWORD'), cookie: secret('COOKIEVALUE'), proxyAuth: secret('PROXYAUTH'),
  queryApiKey: secret('QUERYAPIKEY'), queryToken: secret('QUERYTOKEN'), jsonPassword: secret('JSONPASSWORD'),
  jsonSecret: secret('JSONSECRET'), jsonToken: secret('JSONTOKEN'), jsonApiKey: secret('JSONAPIKEY'),
  formPassword: secret('FORMPASSWORD'), errorToken: secret('ERRORTOKEN'), jwtSecret: secret('JWTSIGNINGSECRET'),
};
const JWT_CLAIM_MARKER = 'JWTPAYLOADMARKER';

/** The strings that must appear nowhere: each secret, its middle, and the encoded forms that were sent. */
function forbidden(jwt: string, basic: string, proxyBasic: string): string[] {
  const middle = (s: string) => s.slice(3, -4);
  const sent = [...Object.values(S), jwt, basic, proxyBasic];
  return [...sent, ...sent.map(middle), jwt.split('.')[1]!, JWT_CLAIM_MARKER];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

t.test('no secret reaches the store files or the logs', async (t) => {
  const upstream = await new TestUpstream().start();
  upstream.routes.set('/fail', (_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'denied', detail: { token: S.errorToken, hint: 'ERRORBODYVISIBLE' } }));
  });
  const proxy = await startTestProxy(upstream.url, {
    log: { level: 'trace' },
    auth: {
      apiKeyHeaders: ['x-tenant-key'], jwt: { secret: S.jwtSecret },
      keys: [{ id: 'key-registry', sha256: sha256(S.registryKey).toString('hex'), organizationId: 'org-s' }],
    },
    capture: { responseBody: { enabled: true } },
  });
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  const jwt = await new SignJWT({ org_id: 'org-s', note: JWT_CLAIM_MARKER }).setProtectedHeader({ alg: 'HS256' })
    .setSubject('user-s').setExpirationTime('5m').sign(new TextEncoder().encode(S.jwtSecret));
  const basic = Buffer.from(`alice:${S.basicPassword}`).toString('base64');
  const proxyBasic = Buffer.from(`proxyuser:${S.proxyAuth}`).toString('base64');

  const sends: [string, Parameters<typeof request>[1]][] = [
    ['/s/bearer-key', { headers: { authorization: `Bearer ${S.registryKey}` } }],
    ['/s/bearer-jwt', { headers: { authorization: `Bearer ${jwt}` } }],
    ['/s/basic', { headers: { authorization: `Basic ${basic}` } }],
    ['/s/x-api-key', { headers: { 'x-api-key': S.unknownKey } }],
    ['/s/portkey', { headers: { 'x-portkey-api-key': S.portkey } }],
    ['/s/tenant', { headers: { 'x-tenant-key': S.tenant } }],
    ['/s/cookie', { headers: { cookie: `theme=dark; session=${S.cookie}` } }],
    ['/s/proxy-auth', { headers: { 'proxy-authorization': `Basic ${proxyBasic}` } }],
    [`/s/query?api_key=${S.queryApiKey}&token=${S.queryToken}&page=QUERYVISIBLE`, {}],
    ['/s/json', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: { password: S.jsonPassword, profile: { secret: S.jsonSecret, keys: [{ token: S.jsonToken }] } }, api_key: S.jsonApiKey, visible: 'JSONVISIBLE' }),
    }],
    ['/s/form', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `user=alice&password=${S.formPassword}&visible=FORMVISIBLE` }],
    ['/fail', {}],
  ];
  for (const [path, init] of sends) {
    const res = await request(`${proxy.url}${path}`, init);
    await res.body.dump();
  }
  const records = await recordsOf(proxy, sends.length);
  t.equal(records.length, sends.length, 'every request was recorded');
  t.match(records.find((r) => r.path === '/s/bearer-key'), { apiKeyId: 'key-registry', requestHeaders: { authorization: 'Bearer sk_…a1b2' } }, 'hints are kept');
  t.match(records.find((r) => r.path === '/s/bearer-jwt'), { userId: 'user-s', organizationId: 'org-s' }, 'the JWT was verified');
  await proxy.services.store!.flush();

  const dataFiles = filesUnder(proxy.dataDir).map((path) => ({ path, bytes: readFileSync(path) }));
  const storeBytes = Buffer.concat(dataFiles.map((f) => f.bytes));
  const logBytes = Buffer.from(proxy.logs.join(''), 'utf8');
  for (const visible of ['QUERYVISIBLE', 'JSONVISIBLE', 'FORMVISIBLE', 'ERRORBODYVISIBLE', '/s/cookie']) {
    t.ok(storeBytes.includes(visible), `the scan sees record content (${visible})`);
  }
  t.ok(logBytes.includes('/s/json'), 'the scan sees request log lines');
  for (const needle of forbidden(jwt, basic, proxyBasic)) {
    const inFiles = dataFiles.filter((f) => f.bytes.includes(needle)).map((f) => f.path);
    t.same(inFiles, [], `not in the data dir: ${needle.slice(0, 24)}…`);
    t.notOk(logBytes.includes(needle), `not in the logs: ${needle.slice(0, 24)}…`);
  }
});

t.test('issue 10, finding 9: secrets in unusual spellings never reach the LMDB data file', async (t) => {
  const hidden = (name: string) => `sk_live_${name}_Hv8Kp3Zq6Wm1Tx4Y`;
  const H = {
    formCase: hidden('FORMCASE'), escapedKey: hidden('ESCAPEDKEY'), utf16: hidden('UTFSIXTEEN'), amz: hidden('AMZTOKEN'),
    goog: hidden('GOOGKEY'), apiKey: hidden('APIKEYHEADER'), access: hidden('ACCESSTOKEN'), tokenArray: hidden('TOKENARRAY'),
    semicolon: hidden('SEMICOLON'), basic: hidden('BASICPW'), errorForm: hidden('ERRORFORM'), errorEscaped: hidden('ERRORESCAPED'),
    nested: hidden('NESTEDFORM'),
  };
  const upstream = await new TestUpstream().start();
  upstream.routes.set('/fail-form', (_req, res) => {
    res.writeHead(400, { 'content-type': 'Application/X-WWW-Form-Urlencoded' });
    res.end(`error=denied&Access-Token=${H.errorForm}&hint=ERRORFORMVISIBLE`);
  });
  upstream.routes.set('/fail-json', (_req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(`{"hint":"ERRORJSONVISIBLE","\\u0074oken":"${H.errorEscaped}","pad":"${'p'.repeat(400)}"}`);
  });
  const proxy = await startTestProxy(upstream.url, { capture: { requestBody: { maxBytes: 120 }, responseBody: { enabled: true, maxBytes: 120 } } });
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  const post = (contentType: string, body: string | Buffer) => ({ method: 'POST' as const, headers: { 'content-type': contentType }, body });
  const sends: [string, Parameters<typeof request>[1]][] = [
    ['/h/form-case', post('Application/X-WWW-Form-Urlencoded', `user=alice&Password=${H.formCase}&v=FORMCASEVISIBLE`)],
    ['/h/form-nested', post('application/x-www-form-urlencoded', `user%5Bpass%77ord%5D=${H.nested}`)],
    ['/h/escaped-cut', post('application/json', `{"v":"CUTVISIBLE","\\u0070assword":"${H.escapedKey}","pad":"${'p'.repeat(400)}"}`)],
    ['/h/utf16', post('application/json; charset=utf-16le', Buffer.from(JSON.stringify({ password: H.utf16 }), 'utf16le'))],
    ['/h/utf16-no-charset', post('application/json', Buffer.from(JSON.stringify({ password: H.utf16 }), 'utf16le'))],
    ['/h/headers', { headers: { 'X-Amz-Security-Token': H.amz, 'X-Goog-Api-Key': H.goog, 'Api-Key': H.apiKey, 'X-Access-Token': H.access } }],
    [`/h/query?token[]=${H.tokenArray}&a=1;token=${H.semicolon}&page=QUERYVISIBLE`, {}],
    ['/h/basic', { headers: { authorization: `Basic ${Buffer.from(`alice:${H.basic}`).toString('base64')}` } }],
    ['/fail-form', {}],
    ['/fail-json', {}],
  ];
  for (const [path, init] of sends) await (await request(`${proxy.url}${path}`, init)).body.dump();
  const records = await recordsOf(proxy, sends.length);
  t.equal(records.length, sends.length, 'every request was recorded');
  t.equal(records.find((r) => r.path === '/h/basic')?.requestHeaders.authorization, 'Basic alice:…', 'Basic: the scheme and the user only');
  t.equal(records.find((r) => r.path === '/h/utf16')?.requestBody, '[unredactable body omitted]');
  await proxy.services.store!.flush();

  const storeBytes = Buffer.concat(filesUnder(proxy.dataDir).map((path) => readFileSync(path)));
  for (const visible of ['FORMCASEVISIBLE', 'CUTVISIBLE', 'QUERYVISIBLE', 'ERRORFORMVISIBLE', 'ERRORJSONVISIBLE', '/h/utf16-no-charset']) {
    t.ok(storeBytes.includes(visible), `the scan sees record content (${visible})`);
  }
  for (const [name, value] of Object.entries(H)) {
    t.notOk(storeBytes.includes(value.slice(3, -4)), `${name} is not stored`);
    t.notOk(storeBytes.includes(Buffer.from(value.slice(3, -4), 'utf16le')), `${name} is not stored as UTF-16`);
  }
  t.notOk(storeBytes.includes(Buffer.from(`alice:${H.basic}`).toString('base64').slice(8)), 'the Basic credentials are not stored encoded');
});
