import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { request } from 'undici';
import { CliProcess } from '../helpers/cli.js';
import { TestUpstream } from '../helpers/upstream.js';

function threadNames(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      return ''; // a thread that ended meanwhile
    }
  });
}

t.test('the proxy\'s own threads carry names an operator can tell apart in top -H and ps -L', { skip: process.platform !== 'linux' && 'thread names are read from /proc' }, async (t) => {
  const upstream = await new TestUpstream().start();
  t.teardown(() => upstream.stop());
  const proxy = new CliProcess(['serve', '--upstream', upstream.url, '--port', '0', '--host', '127.0.0.1', '--data-dir', t.testdir()],
    { AUDIT_PROXY__LOG__REQUESTS: 'false' });
  t.teardown(() => proxy.kill());
  const port = (await proxy.waitFor(/"port":(\d+)[^\n]*audit-proxy listening/))[1];
  await (await request(`http://127.0.0.1:${port}/items/1`)).body.dump();
  // The writer, the Merkle log and two readers (audit.readWorkers): they start beside the server, which does not wait.
  const wanted = ['audit-merkle', 'audit-reader', 'audit-reader', 'audit-writer'];
  const named = () => threadNames(proxy.child.pid!).filter((name) => name.startsWith('audit-')).sort();
  const deadline = Date.now() + 20_000;
  while (named().length < wanted.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.same(named(), wanted, threadNames(proxy.child.pid!).join(', '));
});
