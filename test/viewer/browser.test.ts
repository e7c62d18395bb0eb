
import { chromium, type Browser, type Page } from 'playwright-core';
import t from 'tap';
import { request } from 'undici';
import { rawRequest } from '../helpers/raw.js';
import { KEY, TRAFFIC, sendTraffic, startFixture, type Fixture } from '../api/fixtures/audit.js';
import { makeRecord } from '../store/fixtures/helpers.js';

/** Debian's chromium (.ci/run installs it); playwright-core never downloads a browser. */
const CHROMIUM = '/usr/bin/chromium';
const HOSTILE_PATH = '/<img/src=x/onerror=window.__pwned=1>';
const EXTRA = 30;
const SCREENSHOT = process.env.VIEWER_SCREENSHOT;

let f: Fixture;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

t.before(async () => {
  f = await startFixture();
  await sendTraffic(f);
  for (let i = 0; i < EXTRA; i++) {
    const res = await request(`${f.proxy.url}/things/${i}/parts?i=${i}`, { headers: { authorization: `Bearer ${KEY.aPlain}`, 'x-country': 'FR' } });
    await res.body.dump();
  }
  await rawRequest(f.proxy.port, `GET ${HOSTILE_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY.aPlain}\r\nUser-Agent: <script>window.__pwned=2</script>\r\nConnection: close\r\n\r\n`);
  await f.flush();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
});

t.teardown(async () => {
  await browser?.close();
  await f.close();
});

const rows = () => page.locator('.records tbody tr');
const column = (n: number) => page.locator(`.records tbody tr td:nth-child(${n})`).allTextContents();

/** Runs an action that reloads the table and waits until the new page of records is shown. */
async function settled(action: () => Promise<unknown>): Promise<void> {
  const answered = page.waitForResponse((r) => r.url().includes('/v1/audit-logs/records?'));
  await action();
  await answered;
  await page.locator('.records[aria-busy="false"]').waitFor();
}

async function applyFilter(fill: () => Promise<unknown>): Promise<void> {
  await fill();
  await settled(() => page.getByRole('button', { name: 'Apply' }).click());
}

t.test('a wrong key shows the API\'s message and is not kept', async (t) => {
  await page.goto(`${f.proxy.url}/_audit/`);
  await page.getByLabel('API key or token').fill('ak_wrong_key_00000000000000000001');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  t.match(await alert.textContent(), /key/i, 'the 401 message of the audit API');
  t.equal(await page.evaluate('sessionStorage.length'), 0);
  // The browser itself logs the 401 response as a failed resource load; that is the expected answer, not a page error.
  consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !/status of 401/.test(e)));
});

t.test('sign in: the key is kept in sessionStorage only, and rows and charts appear', async (t) => {
  await page.getByLabel('API key or token').fill(KEY.aReader);
  await settled(() => page.getByRole('button', { name: 'Sign in' }).click());
  await page.locator('.uplot canvas').nth(1).waitFor();
  t.equal(await rows().count(), 50, 'a full first page');
  t.equal(await page.evaluate('localStorage.length'), 0);
  t.notMatch(page.url(), KEY.aReader, 'never in the URL');
  t.equal(await page.locator('.uplot canvas').count(), 2, 'two charts');
  t.match(await page.getByRole('img', { name: /Requests by status class/ }).getAttribute('aria-label'), /: [1-9]\d* in the range/);
  const times = await column(1);
  t.same(times, [...times].sort().reverse(), 'newest first');
  t.ok((await column(8)).includes('FR'), 'country column');
});

t.test('the hostile path and user agent are shown as text, never run', async (t) => {
  const cell = page.locator('td.path .p', { hasText: '<img/src=x' }).first();
  t.equal(await cell.textContent(), HOSTILE_PATH);
  await cell.click();
  const drawer = page.getByRole('dialog');
  await drawer.waitFor();
  t.match(await drawer.textContent(), '<script>window.__pwned=2</script>');
  t.equal(await page.locator('img[src="x"], body script:not([src])').count(), 0, 'no element made from a record');
  t.equal(await page.evaluate('window.__pwned'), undefined);
  await page.keyboard.press('Escape');
  await drawer.waitFor({ state: 'detached' });
});

t.test('filters by method, status, principal and time are applied and kept in the URL', async (t) => {
  await applyFilter(() => page.locator('#f-method').selectOption('POST'));
  t.match(page.url(), /method=POST/);
  t.same(new Set(await column(3)), new Set(['POST']));
  t.equal(await rows().count(), TRAFFIC.aService);
  await applyFilter(async () => {
    await page.locator('#f-method').selectOption('');
    await page.locator('#f-status').fill('4xx');
  });
  t.match(page.url(), /status=4xx/);
  t.same(new Set(await column(5)), new Set(['404']));
  t.equal(await rows().count(), TRAFFIC.aNotFound);
  await applyFilter(async () => {
    await page.locator('#f-status').fill('');
    await page.locator('#f-kind').selectOption('serviceAccountId');
    await page.locator('#f-principal').fill('sa-a1');
  });
  t.match(page.url(), /principal=sa-a1/);
  t.equal(await rows().count(), TRAFFIC.aService);
  const shared = page.url();
  await settled(() => page.reload());
  t.equal(await rows().count(), TRAFFIC.aService, 'a shared URL opens the same view');
  t.equal(shared, page.url());
  await applyFilter(async () => {
    await page.locator('#f-principal').fill('');
    await page.locator('#f-range').selectOption('custom');
    await page.locator('#f-from').fill('2020-01-01T00:00');
    await page.locator('#f-to').fill('2020-01-02T00:00');
  });
  t.match(page.url(), /range=custom&from=2020-01-0/);
  t.match(await page.getByRole('status').filter({ hasText: 'No requests' }).textContent(), /No requests match these filters/);
  await settled(() => page.locator('#f-range').selectOption('15m'));
  t.equal(await rows().count(), 50);
});

t.test('paging forward and back with the cursor', async (t) => {
  // One caller's traffic: the viewer's own reads (recorded too) do not shift its pages.
  await applyFilter(async () => {
    await page.locator('#f-kind').selectOption('apiKeyId');
    await page.locator('#f-principal').fill('key-a-plain');
  });
  const firstPage = await column(1);
  t.equal(firstPage.length, 50);
  await settled(() => page.getByRole('button', { name: 'Older →' }).click());
  await page.getByText('Page 2').waitFor();
  const secondPage = await column(1);
  t.ok(secondPage.length > 0);
  t.ok(secondPage[0]! <= firstPage.at(-1)!, 'older records on the next page');
  await settled(() => page.getByRole('button', { name: '← Newer' }).click());
  await page.getByText('Page 1').waitFor();
  t.same(await column(1), firstPage);
  await applyFilter(() => page.locator('#f-principal').fill(''));
});

t.test('a record opens from the keyboard, with masked headers, query, timings and outcome', async (t) => {
  await page.locator('.records tbody tr', { hasText: '/things/3/parts' }).focus();
  await page.keyboard.press('Enter');
  const drawer = page.getByRole('dialog');
  await drawer.waitFor();
  const text = (await drawer.textContent())!;
  t.match(text, 'Outcomecompleted');
  t.match(text, '"i": "3"');
  t.match(text, /Bearer ak_…0001/, 'the key is masked to a hint');
  t.notMatch(text, KEY.aPlain);
  t.match(text, /Time to first byte[\d.]+ ms/);
  await drawer.getByRole('button', { name: 'Close record' }).click();
  await drawer.waitFor({ state: 'detached' });
});

t.test('live tail shows a new request at the top', async (t) => {
  await page.getByRole('button', { name: 'Live tail' }).click();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const res = await request(`${f.proxy.url}/tail-marker`, { headers: { authorization: `Bearer ${KEY.aPlain}` } });
  await res.body.dump();
  const fresh = page.locator('.records tbody tr', { hasText: '/tail-marker' });
  await fresh.waitFor({ timeout: 10_000 });
  t.equal(await rows().first().locator('td.path .p').textContent(), '/tail-marker');
  await page.getByRole('button', { name: 'Stop live tail' }).click();
});

t.test('live tail shows every request of a burst larger than one page, each once', async (t) => {
  await page.getByRole('button', { name: 'Live tail' }).click();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const burst = 160; // more than a page of 100 within one 2 s poll: the tail showed only the newest 100
  await Promise.all(Array.from({ length: burst }, async (_, i) => {
    const res = await request(`${f.proxy.url}/burst-${i}`, { headers: { authorization: `Bearer ${KEY.aPlain}` } });
    await res.body.dump();
  }));
  const burstRows = page.locator('.records tbody tr', { hasText: '/burst-' });
  const deadline = Date.now() + 15_000;
  while ((await burstRows.count()) < burst && Date.now() < deadline) await page.waitForTimeout(100);
  await page.waitForTimeout(2_500); // one more poll: nothing may be added twice
  const paths = await page.locator('.records tbody tr td.path .p').allTextContents();
  const shown = paths.filter((p) => p.startsWith('/burst-'));
  t.equal(shown.length, burst, 'every request of the burst');
  t.equal(new Set(shown).size, burst, 'each once');
  await page.getByRole('button', { name: 'Stop live tail' }).click();
});

t.test('export of the current filter as CSV through the export endpoint', async (t) => {
  await applyFilter(() => page.locator('#f-method').selectOption('DELETE'));
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  const lines = (await readStream(await download.createReadStream())).trim().split('\r\n');
  t.match(lines[0], /^timestamp,method,uri,/);
  t.equal(lines.length, 1 + TRAFFIC.aUser);
  t.ok(lines.slice(1).every((line) => line.includes(',DELETE,')));
});

t.test('usable at phone width: no sideways scrolling, rows still readable', async (t) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200);
  t.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), 'fits the width');
  t.ok(await rows().first().isVisible());
  await page.setViewportSize({ width: 1280, height: 900 });
});

t.test('charts over an hour of varied traffic count every request', async (t) => {
  const store = f.proxy.services.store!;
  const now = Date.now();
  const statuses = [200, 200, 200, 200, 201, 204, 304, 400, 401, 404, 404, 429, 500, 503];
  const routes = ['/v1/orders/{id}', '/v1/orders', '/v1/customers/{id}', '/v1/invoices'];
  const synthetic = 1_500;
  for (let i = 0; i < synthetic; i++) {
    const wave = 1 + Math.sin(i / 120);
    const route = routes[i % routes.length]!;
    store.append(makeRecord({
      ms: now - 3_540_000 + Math.floor((i / synthetic) * 3_480_000), organizationId: 'org-a', statusCode: statuses[(i * 5) % statuses.length]!,
      durationMs: 3 + wave * 20 + ((i * 7919) % 97) ** 2 / 60, method: i % 5 === 0 ? 'POST' : 'GET', routePattern: route,
      path: route.replace('{id}', String(1000 + (i % 400))), apiKeyId: `key-${i % 3}`, principalId: `key-${i % 3}`, country: ['DE', 'FR', 'US', 'JP'][i % 4]!,
      clientIp: `203.0.113.${i % 200}`,
    }));
  }
  await store.flush();
  await applyFilter(() => page.locator('#f-method').selectOption(''));
  const charted = page.waitForResponse((r) => r.url().includes('/v1/audit-logs/stats?'));
  await settled(() => page.locator('#f-range').selectOption('1h'));
  await charted;
  await page.locator('.uplot canvas').nth(1).waitFor();
  const counts = page.getByRole('img', { name: /Requests by status class/ });
  const total = Number(/: (\d+) in the range/.exec((await counts.getAttribute('aria-label'))!)![1]);
  t.ok(total >= synthetic + 50, `${total} requests charted, the synthetic hour included`);
  if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT });
});

t.test('sign out forgets the key', async (t) => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key or token').waitFor();
  t.equal(await page.evaluate('sessionStorage.length'), 0);
});

t.test('no console errors, no CSP violations', async (t) => {
  t.same(consoleErrors, []);
});

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

