import t from 'tap';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { lmdbOpenFixInstalled } from '../../src/store/lmdb-fix.js';
import { tmpdir } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { TestUpstream } from '../helpers/upstream.js';
import { eventually } from '../helpers/eventually.js';

/**
 * No Docker engine runs here, so this performs the runtime stage of the Dockerfile by hand, read from the
 * Dockerfile itself: its COPY sources, its production install, its ENV, ENTRYPOINT/CMD and HEALTHCHECK.
 */
interface RuntimeStage {
  env: Record<string, string>;
  /** In order; `afterInstall` when the stage copies it after its `npm ci` (npm ci would remove it otherwise). */
  copies: { from: string; to: string; afterInstall: boolean }[];
  installs: string[];
  command: string[];
  healthcheck: string[];
}

function runtimeStage(dockerfile: string): RuntimeStage {
  const lines = dockerfile.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stage = lines.slice(lines.map((l) => l.startsWith('FROM ')).lastIndexOf(true));
  const result: RuntimeStage = { env: {}, copies: [], installs: [], command: [], healthcheck: [] };
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  for (const line of stage) {
    const [instruction, ...rest] = line.split(' ');
    const args = rest.join(' ');
    if (instruction === 'ENV') for (const m of args.matchAll(/(\w+)=(\S+)/g)) result.env[m[1]!] = m[2]!;
    if (instruction === 'COPY') {
      const parts = args.split(' ');
      const fromBuild = parts[0]!.startsWith('--from=');
      const paths = fromBuild ? parts.slice(1) : parts;
      const to = paths.pop()!;
      for (const from of paths) result.copies.push({ from: fromBuild ? from.replace(/^\/app\//, '') : from, to, afterInstall: result.installs.length > 0 });
    }
    if (instruction === 'RUN' && args.startsWith('npm ci')) result.installs.push(args.split('&&')[0]!.trim());
    if (instruction === 'ENTRYPOINT') entrypoint = JSON.parse(args) as string[];
    if (instruction === 'CMD') cmd = JSON.parse(args) as string[];
    if (instruction === 'HEALTHCHECK') result.healthcheck = JSON.parse(args.slice(args.indexOf('CMD ') + 4)) as string[];
  }
  result.command = [...entrypoint, ...cmd];
  return result;
}

t.test('the image recipe: production install of the built output starts, passes its health check, and proxies', async (t) => {
  const stage = runtimeStage(readFileSync('Dockerfile', 'utf8'));
  t.ok(stage.command.length >= 2 && stage.healthcheck.length > 0 && stage.installs.length === 1, 'the recipe has its steps');
  t.match(readFileSync('Dockerfile', 'utf8'), /^USER node$/m, 'runs as a non-root user');
  // Outside the project, so nothing resolves from the project's own node_modules.
  const app = mkdtempSync(join(tmpdir(), 'audit-proxy-image-'));
  t.teardown(() => rmSync(app, { recursive: true, force: true }));
  const copy = (afterInstall: boolean) => {
    for (const { from, to } of stage.copies.filter((c) => c.afterInstall === afterInstall)) {
      cpSync(resolve(from), join(app, to.endsWith('/') || to === './' ? from.split('/').pop()! : to), { recursive: true });
    }
  };
  copy(false);
  // With the stage's ENV, as Docker runs a RUN after it.
  const install = spawnSync('sh', ['-c', `${stage.installs[0]} --prefer-offline`], { cwd: app, encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...stage.env } });
  t.equal(install.status, 0, install.status === 0 ? "production install" : `production install failed: ${install.stderr.slice(-500)}`);
  copy(true);
  t.equal(existsSync(join(app, 'node_modules', 'lmdb', 'build', 'audit-proxy-open-fix')), lmdbOpenFixInstalled(), 'lmdb-js as the build stage rebuilt it, with the fix of its open bug');
  const devOnly = spawnSync('node', ['-e', "import('tap').then(()=>process.exit(1),()=>process.exit(0))"], { cwd: app });
  t.equal(devOnly.status, 0, 'dev dependencies are not installed');

  const upstream = await new TestUpstream().start();
  t.teardown(() => upstream.stop());
  const port = String(20_000 + Math.floor(Math.random() * 20_000));
  const env = { PATH: process.env.PATH, ...stage.env, AUDIT_PROXY_PORT: port, AUDIT_PROXY_HOST: '127.0.0.1',
    AUDIT_PROXY_DATA_DIR: join(app, 'data'), AUDIT_PROXY_UPSTREAM: upstream.url };
  const [bin, ...args] = stage.command;
  const proxy = spawn(bin === 'node' ? process.execPath : bin!, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proxy.stdout.on('data', (c: Buffer) => { output += c; });
  proxy.stderr.on('data', (c: Buffer) => { output += c; });
  t.teardown(() => { if (proxy.exitCode === null) proxy.kill('SIGKILL'); });
  await eventually(() => output.includes('audit-proxy listening'), 20_000).catch(() => t.fail(output));

  const [hcBin, ...hcArgs] = stage.healthcheck;
  const health = spawnSync(hcBin === 'node' ? process.execPath : hcBin!, hcArgs, { env, encoding: 'utf8', timeout: 10_000 });
  t.equal(health.status, 0, 'HEALTHCHECK passes');
  const res = await request(`http://127.0.0.1:${port}/through/the/sidecar`);
  t.equal(res.statusCode, 200);
  t.equal(((await res.body.json()) as { url: string }).url, '/through/the/sidecar');
  proxy.kill('SIGTERM');
  const code = await new Promise((r) => proxy.once('exit', r));
  t.equal(code, 0, 'SIGTERM (docker stop) exits cleanly');
});
