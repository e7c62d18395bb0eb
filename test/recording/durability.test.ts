import { collect } from '../helpers/collect.js';
import t from 'tap';
import { Agent, request } from 'undici';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { openAuditStore } from '../../src/store/index.js';
import { TestUpstream } from '../helpers/upstream.js';
import { CliProcess } from '../helpers/cli.js';

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
