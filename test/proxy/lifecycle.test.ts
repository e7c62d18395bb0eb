import t from 'tap';
import { request } from 'undici';
import { TestUpstream } from '../helpers/upstream.js';
import { CliProcess } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';

function serveArgs(upstream: string, dataDir: string, ...extra: string[]): string[] {
  return ['serve', '--upstream', upstream, '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, ...extra];
}

function listeningPort(output: string): number {
  return Number(/"port":(\d+)[^\n]*audit-proxy listening/.exec(output)![1]);
}

t.test('SIGTERM lets an in-flight request finish, then exits 0', async (t) => {
  const upstream = await new TestUpstream().start();
  let release: () => void = () => {};
  upstream.routes.set('/stream/slow', (_req, res) => {
    res.writeHead(200);
    res.write('part one;');
    release = () => res.end('part two');
  });
  t.teardown(() => upstream.stop());
  const proxy = new CliProcess(serveArgs(upstream.url, t.testdir()));
  t.teardown(() => proxy.kill());
  await proxy.waitFor(/audit-proxy listening/);
  const port = listeningPort(proxy.output);
  const res = await request(`http://127.0.0.1:${port}/stream/slow`);
  const body = res.body.text();
  proxy.child.kill('SIGTERM');
  await proxy.waitFor(/draining/);
  await new Promise((r) => setTimeout(r, 200));
  t.equal(proxy.child.exitCode, null, 'still running while a request is in flight');
  await t.rejects(request(`http://127.0.0.1:${port}/new`), 'no new connections are accepted');
  release();
  t.equal(await body, 'part one;part two', 'the in-flight response completed');
  t.equal(await proxy.exited(), 0);
});

t.test('the drain timeout bounds a shutdown', async (t) => {
  const upstream = await new TestUpstream().start();
  upstream.routes.set('/stream/never', (_req, res) => {
    res.writeHead(200);
    res.flushHeaders();
  });
  t.teardown(() => upstream.stop());
  const proxy = new CliProcess(serveArgs(upstream.url, t.testdir()), { AUDIT_PROXY__SERVER__DRAIN_TIMEOUT_MS: '300' });
  t.teardown(() => proxy.kill());
  await proxy.waitFor(/audit-proxy listening/);
  const res = await request(`http://127.0.0.1:${listeningPort(proxy.output)}/stream/never`);
  const body = res.body.text().catch(() => 'cut');
  proxy.child.kill('SIGINT');
  t.equal(await proxy.exited(), 0);
  t.equal(await body, 'cut', 'the stuck response was cut');
  t.match(proxy.output, /drain timeout/);
});

t.test('--workers 2 runs two processes on one port and replaces one that dies', async (t) => {
  const upstream = await new TestUpstream().start();
  t.teardown(() => upstream.stop());
  const proxy = new CliProcess(serveArgs(upstream.url, t.testdir(), '--workers', '2'));
  t.teardown(() => proxy.kill());
  await eventually(() => (proxy.output.match(/audit-proxy listening/g) ?? []).length === 2, 20_000);
  const pids = [...proxy.output.matchAll(/"pid":(\d+)[^\n]*audit-proxy listening/g)].map((m) => Number(m[1]));
  t.equal(new Set(pids).size, 2, 'two worker processes');
  const port = listeningPort(proxy.output);
  process.kill(pids[0]!, 'SIGKILL');
  await proxy.waitFor(/worker died; starting a replacement/);
  await eventually(() => (proxy.output.match(/audit-proxy listening/g) ?? []).length === 3, 20_000);
  for (let i = 0; i < 10; i++) {
    const res = await request(`http://127.0.0.1:${port}/after`);
    await res.body.dump();
    t.equal(res.statusCode, 200);
  }
  proxy.child.kill('SIGTERM');
  t.equal(await proxy.exited(), 0, 'the primary exits 0 once every worker has drained');
});
