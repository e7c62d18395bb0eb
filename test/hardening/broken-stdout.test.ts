import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { CLI, runCli } from '../helpers/cli.js';
import { TestUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/ports.js';


/** `audit-proxy serve | head -1`: the reader takes the first line and goes away; later log lines hit EPIPE. */
for (const [pretty, signal] of [['false', 'SIGTERM'], ['true', 'SIGINT']] as const) {
  t.test(`a broken stdout (pretty ${pretty}) never holds up ${signal}: the proxy drains, records and exits`, async (t) => {
    const upstream = await new TestUpstream().start();
    t.teardown(() => upstream.stop());
    const dir = t.testdir();
    const dataDir = join(dir, 'data');
    const config = join(dir, 'config.yaml');
    const port = await freePort();
    writeFileSync(config, `upstream:\n  url: ${upstream.url}\nlisten:\n  host: 127.0.0.1\n  port: ${port}\nlog:\n  pretty: '${pretty}'\nstore:\n  path: ${dataDir}\n`);
    const child = spawn(process.execPath, [CLI, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const [first] = await once(child.stdout, 'data') as [Buffer];
    t.match(first.toString(), /audit-proxy listening/);
    child.stdout.destroy(); // like head -1 exiting
    const calls = 20;
    for (let i = 0; i < calls; i++) {
      const res = await request(`http://127.0.0.1:${port}/call/${i}`);
      await res.body.dump();
      t.equal(res.statusCode, 200);
    }
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    const started = performance.now();
    child.kill(signal);
    const [code] = await exited;
    t.equal(code, 0, 'a clean exit');
    t.ok(performance.now() - started < 5_000, `exited ${Math.round(performance.now() - started)} ms after ${signal}`);
    const query = runCli(['query', '--data-dir', dataDir, '--format', 'ndjson', '--limit', '100']);
    t.equal(query.stdout.trim().split('\n').length, calls, 'every request recorded');
  });
}
