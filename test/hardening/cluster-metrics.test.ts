import t from 'tap';
import { request } from 'undici';
import { CliProcess } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { TestUpstream } from '../helpers/upstream.js';

function sample(text: string, name: string): number {
  return text.split('\n').filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

t.test('/metrics under --workers 2 reports both workers as one, whichever worker takes the scrape', async (t) => {
  const upstream = await new TestUpstream().start();
  t.teardown(() => upstream.stop());
  const cli = new CliProcess(['serve', '--upstream', upstream.url, '--port', '0', '--host', '127.0.0.1', '--data-dir', t.testdir(), '--workers', '2']);
  t.teardown(() => cli.kill());
  const [, port] = await cli.waitFor(/"port":(\d+)[^\n]*audit-proxy listening/, 60_000);
  await eventually(() => (cli.output.match(/audit-proxy listening/g) ?? []).length === 2, 60_000);
  const url = `http://127.0.0.1:${port}`;
  const calls = 30;
  for (let i = 0; i < calls; i++) {
    // A new connection each time, so the primary hands calls to both workers.
    const res = await request(`${url}/call/${i}`, { reset: true });
    await res.body.dump();
  }
  const servedBy = new Set([...cli.output.matchAll(/"pid":(\d+)[^\n]*"msg":"request"/g)].map((m) => m[1]));
  t.equal(servedBy.size, 2, 'both workers served calls');
  const scrapes: number[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await request(`${url}/metrics`, { reset: true });
    const text = await res.body.text();
    t.equal(res.statusCode, 200);
    scrapes.push(sample(text, 'audit_proxy_requests_total{'));
    t.match(text, /audit_proxy_request_duration_seconds_count\{outcome="completed"\} 30/);
  }
  t.same(scrapes, Array(6).fill(calls), 'every scrape counts every call of both workers');
  cli.child.kill('SIGTERM');
  t.equal(await cli.exited(), 0);
});
