import { collect } from '../helpers/collect.js';
import t from 'tap';
import { Agent, request } from 'undici';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { openAuditStore } from '../../src/store/index.js';
import { TestUpstream } from '../helpers/upstream.js';
import { CliProcess, runCli } from '../helpers/cli.js';

function readStore(dataDir: string) {
  const config = parseConfig({ upstream: { url: 'http://127.0.0.1:1' }, store: { path: dataDir } });
  return openAuditStore(config.store, pino({ level: 'silent' }), { readOnly: true });
}

async function startCli(upstream: string, dataDir: string): Promise<{ proxy: CliProcess; url: string }> {
  const proxy = new CliProcess(['serve', '--upstream', upstream, '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir],
    { AUDIT_PROXY__LOG__REQUESTS: 'false' });
  const match = await proxy.waitFor(/"port":(\d+)[^\n]*audit-proxy listening/);
  return { proxy, url: `http://127.0.0.1:${match[1]}` };
}

async function sendMany(url: string, count: number, prefix: string): Promise<void> {
  const agent = new Agent({ connections: 20 });
  await Promise.all(Array.from({ length: count }, async (_, i) => {
    const res = await request(`${url}/items/${i}`, { dispatcher: agent, method: i % 2 ? 'POST' : 'GET', body: i % 2 ? '{"n":1}' : undefined, headers: { 'x-request-id': `${prefix}-${i}` } });
    await res.body.dump();
  }));
  await agent.close();
}

t.test('SIGTERM exits only after every record is committed', async (t) => {
  const upstream = await new TestUpstream().start();
  t.teardown(() => upstream.stop());
  const dataDir = t.testdir();
  const { proxy, url } = await startCli(upstream.url, dataDir);
  t.teardown(() => proxy.kill());
  await sendMany(url, 500, 'term');
  proxy.child.kill('SIGTERM');
  t.equal(await proxy.exited(), 0);
  const store = readStore(dataDir);
  t.teardown(() => store.close());
  const { items, total } = (await store.query({}, { limit: 1, withTotal: true }));
  t.equal(total, 500, 'every request has its record');
  t.match(items[0]!.requestId, /^term-\d+$/);
  const ids = new Set((await collect(store.iterate({}))).map((r) => r.requestId));
  t.equal(ids.size, 500, 'each request exactly once');
});

t.test('after kill -9, every request completed well before the kill is there on restart', async (t) => {
  const upstream = await new TestUpstream().start();
  t.teardown(() => upstream.stop());
  const dataDir = t.testdir();
  const first = await startCli(upstream.url, dataDir);
  t.teardown(() => first.proxy.kill());
  await sendMany(first.url, 300, 'kill');
  await new Promise((r) => setTimeout(r, 500));
  first.proxy.kill('SIGKILL');
  await first.proxy.exited();

  const second = await startCli(upstream.url, dataDir);
  t.teardown(() => second.proxy.kill());
  await sendMany(second.url, 10, 'after');
  second.proxy.child.kill('SIGTERM');
  t.equal(await second.proxy.exited(), 0, 'the environment reopens cleanly after the kill');
  const store = readStore(dataDir);
  t.teardown(() => store.close());
  const ids = (await collect(store.iterate({}))).map((r) => r.requestId);
  t.equal(ids.filter((id) => id.startsWith('kill-')).length, 300, 'no committed record lost');
  t.equal(ids.filter((id) => id.startsWith('after-')).length, 10);
  for (const prefix of ['kill-7', 'kill-299']) {
    const found = (await store.query({ requestId: prefix }, { limit: 5 }));
    t.equal(found.items.length, 1, `the requestId index agrees with the records (${prefix})`);
  }
});

/** A JSON body of about 6 KiB (stored apart from its record: store.bodiesApartBytes is 4 KiB), new for every request. */
function bodyFor(requestId: string): string {
  return JSON.stringify({ requestId, pad: `${requestId}:`.repeat(6_000 / (requestId.length + 1)) });
}

t.test('kill -9 in the middle of bodies being stored apart: every record kept has its body whole, and verify passes', async (t) => {
  const upstream = await new TestUpstream().start();
  t.teardown(() => upstream.stop());
  const dataDir = t.testdir();
  const first = await startCli(upstream.url, dataDir);
  t.teardown(() => first.proxy.kill());
  const answeredAt = new Map<string, number>();
  const agent = new Agent({ connections: 20 });
  let running = true;
  let sent = 0;
  const client = async (): Promise<void> => {
    while (running) {
      const requestId = `body-${sent++}`;
      try {
        const res = await request(`${first.url}/items`, { dispatcher: agent, method: 'POST', body: bodyFor(requestId), headers: { 'content-type': 'application/json', 'x-request-id': requestId } });
        await res.body.dump();
        if (res.statusCode === 200) answeredAt.set(requestId, Date.now());
      } catch (err) {
        errors.push(err as Error);
        return; // the proxy is gone
      }
    }
  };
  const errors: Error[] = [];
  const clients = Array.from({ length: 20 }, client);
  while (answeredAt.size < 600 && errors.length === 0) await new Promise((r) => setTimeout(r, 20));
  t.same(errors, [], 'no request failed before the kill');
  first.proxy.kill('SIGKILL');
  const killedAt = Date.now();
  running = false;
  await Promise.all(clients);
  await agent.destroy();
  await first.proxy.exited();

  const second = await startCli(upstream.url, dataDir);
  t.teardown(() => second.proxy.kill());
  second.proxy.child.kill('SIGTERM');
  t.equal(await second.proxy.exited(), 0, 'reopened, and the Merkle log caught up, after the kill');

  const store = readStore(dataDir);
  t.teardown(() => store.close());
  const kept = new Map((await collect(store.iterate({}))).map((r) => [r.requestId, r]));
  const wrong = [...kept.values()].filter((r) => r.requestBody !== bodyFor(r.requestId));
  t.same(wrong.map((r) => r.requestId), [], 'no record without its body, or with another one');
  const missing = [...answeredAt].filter(([id, at]) => killedAt - at > 1_000 && !kept.has(id));
  t.same(missing, [], 'every request answered over a second before the kill has its record');
  t.ok(kept.size >= 600 - 20 * 5, `most answered requests were committed (${kept.size} of ${answeredAt.size})`);
  const verified = runCli(['verify', '--data-dir', dataDir]);
  t.equal(verified.status, 0, verified.stdout + verified.stderr);
  t.match(verified.stderr, new RegExp(`intact: ${kept.size} leaves`));
  t.match(verified.stderr, /\d+ bodies stored apart/);
});
