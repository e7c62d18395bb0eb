import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load.js';
import { RequestContext } from '../../src/pipeline/context.js';
import { VIEWER_ASSETS_DIR, viewerRoutes } from '../../src/viewer/serve.js';
import { recordsOf, startTestProxy } from '../helpers/proxy.js';
import { TestUpstream } from '../helpers/upstream.js';

const PAGE_WEIGHT_LIMIT = 150 * 1024;

t.test('the bundled page weighs at most 150 KB gzipped', async (t) => {
  const files = readdirSync(VIEWER_ASSETS_DIR);
  t.ok(files.includes('index.html') && files.includes('app.js') && files.includes('app.css'), 'npm run build bundled the page');
  const gzipped = files.reduce((sum, name) => sum + gzipSync(readFileSync(join(VIEWER_ASSETS_DIR, name)), { level: 9 }).length, 0);
  t.ok(gzipped <= PAGE_WEIGHT_LIMIT, `${gzipped} bytes gzipped`);
});

t.test('served at viewer.path with a strict CSP, never forwarded, never recorded', async (t) => {
  const upstream = await new TestUpstream().start();
  const proxy = await startTestProxy(upstream.url);
  t.teardown(async () => {
    await proxy.close();
    await upstream.stop();
  });
  const page = await request(`${proxy.url}/_audit/?method=GET`);
  const html = await page.body.text();
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(page.headers['content-security-policy'], /default-src 'self'; script-src 'self'; style-src 'self'/);
  t.notMatch(page.headers['content-security-policy'], /unsafe-inline|unsafe-eval/);
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  t.equal(page.headers['referrer-policy'], 'no-referrer');
  t.match(html, '<meta name="audit-proxy-api" content="{&quot;records&quot;:&quot;/v1/audit-logs/records&quot;');
  t.notMatch(html, /<script>/, 'no inline script');
  const script = await request(`${proxy.url}/_audit/app.js`, { headers: { 'accept-encoding': 'gzip' } });
  const zipped = Buffer.from(await script.body.arrayBuffer());
  t.equal(script.headers['content-encoding'], 'gzip');
  t.match(script.headers['content-type'], /^text\/javascript/);
  t.equal(Number(script.headers['content-length']), zipped.length);
  const again = await request(`${proxy.url}/_audit/app.js`, { headers: { 'if-none-match': String(script.headers.etag) } });
  await again.body.dump();
  t.equal(again.statusCode, 304, 'unchanged assets are not sent twice');
  const head = await request(`${proxy.url}/_audit/app.css`, { method: 'HEAD' });
  t.equal(head.statusCode, 200);
  t.match(head.headers['content-type'], /^text\/css/);
  const redirect = await request(`${proxy.url}/_audit?status=4xx`);
  await redirect.body.dump();
  t.equal(redirect.statusCode, 308);
  t.equal(redirect.headers.location, '/_audit/?status=4xx');
  const post = await request(`${proxy.url}/_audit/`, { method: 'POST', body: 'x' });
  t.equal(post.statusCode, 405);
  t.equal(post.headers.allow, 'GET, HEAD');
  await post.body.dump();
  const marker = await request(`${proxy.url}/after-viewer`);
  await marker.body.dump();
  t.same(upstream.seen.map((r) => r.url), ['/after-viewer'], 'nothing of the viewer reached the upstream');
  t.same((await recordsOf(proxy, 1)).map((r) => r.path), ['/after-viewer'], 'the viewer\'s files are not recorded');
});

t.test('viewer.path moves it; viewer.enabled false turns it off (the path is then forwarded like any other)', async (t) => {
  const upstream = await new TestUpstream().start();
  const moved = await startTestProxy(upstream.url, { viewer: { path: '/ops/trail/' } });
  const off = await startTestProxy(upstream.url, { viewer: { enabled: false } });
  t.teardown(async () => {
    await moved.close();
    await off.close();
    await upstream.stop();
  });
  const page = await request(`${moved.url}/ops/trail/`);
  await page.body.dump();
  t.equal(page.statusCode, 200);
  const forwarded = await request(`${off.url}/_audit/`);
  await forwarded.body.dump();
  t.equal(forwarded.statusCode, 200);
  t.same(upstream.seen.map((r) => r.url), ['/_audit/'], 'with the viewer off, its path belongs to the upstream');
  t.throws(() => parseConfig({ upstream: { url: upstream.url }, viewer: { path: '/no-slash' } }), /viewer\.path: must be a path that starts and ends with \//);
});

t.test('a build without the bundle still starts, and the page says how to build it', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'viewer-unbuilt-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  const config = parseConfig({ upstream: { url: 'http://127.0.0.1:9' } });
  const routes = viewerRoutes(config, empty);
  const server = createServer((req, res) => routes.get(req.url!)!.handle(new RequestContext(req, res, 'req-1', '127.0.0.1')));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const answer = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/_audit/`);
  t.equal(answer.statusCode, 503);
  t.match(await answer.body.json(), { message: /the viewer is not built .*: run npm run build/ });
});
