import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { CLI } from '../helpers/cli.js';
import { TestUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/ports.js';

// npx starts slowly on a busy machine (three runs here, each several seconds at a load of 10): more than tap's 180 s.
t.setTimeout(600_000);

/** The shell lines of the README block marked as the quick start. */
function quickStartLines(): string[] {
  const readme = readFileSync('README.md', 'utf8');
  const marker = readme.indexOf('<!-- quick-start');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(marker));
  if (marker === -1 || !block) throw new Error('README.md has no quick-start block');
  return block[1]!.split('\n').filter((line) => line.trim() && !line.startsWith('#'));
}

interface AuditAnswer {
  code: number;
  data: { items: { path: string; principalType: string; organizationId: string }[] };
}

/** curl prints bodies without a newline, between the proxy's log lines: find each {"code":...} document. */
function auditAnswers(output: string): AuditAnswer[] {
  const answers: AuditAnswer[] = [];
  for (let start = output.indexOf('{"code"'); start !== -1; start = output.indexOf('{"code"', start + 1)) {
    for (let end = output.indexOf('}', start); end !== -1; end = output.indexOf('}', end + 1)) {
      try {
        answers.push(JSON.parse(output.slice(start, end + 1)) as AuditAnswer);
        break;
      } catch { /* not the end of this document yet */ }
    }
  }
  return answers;
}


t.test('the README quick start, run as written in an empty directory, reaches a 200 with the request in it', async (t) => {
  const upstream = await new TestUpstream().start();
  t.teardown(() => upstream.stop());
  const proxyPort = await freePort();
  const dir = t.testdir();
  // `npx audit-proxy` as in a project that installed it: the bin in node_modules/.bin, never the registry.
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(CLI, join(dir, 'node_modules', '.bin', 'audit-proxy'));
  const lines = quickStartLines().map((line) => line
    .replaceAll('127.0.0.1:3000', `127.0.0.1:${upstream.port}`)
    .replaceAll(':8080', `:${proxyPort}`).replaceAll('--port 8080', `--port ${proxyPort}`));
  t.equal(lines.length, 5, 'two keys, serve, call, read');
  // A person types one line at a time; the pause keeps a read from racing the commit of the call before it.
  const script = ['set -e', "trap 'sleep 0.3' DEBUG", ...lines].join('\n');
  const shell = spawn('bash', ['-c', script], {
    cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
  });
  let stdout = '';
  let stderr = '';
  shell.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
  shell.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  t.teardown(() => {
    try {
      process.kill(-shell.pid!, 'SIGTERM'); // the background proxy started by the script, with its shell
    } catch { /* already gone */ }
  });
  const [code] = await once(shell, 'exit') as [number];
  t.equal(code, 0, stderr);
  const answers = auditAnswers(stdout);
  t.equal(answers.length, 1, stdout);
  t.equal(answers[0]!.code, 200);
  t.match(answers[0]!.data.items, [{ path: '/anything', principalType: 'api_key', organizationId: 'my-org' }], 'the call of step 3 is in the trail');
  t.ok(upstream.seen.some((r) => r.url === '/anything'), 'the call reached the API');
  const keysFile = readFileSync(join(dir, 'keys.yaml'), 'utf8');
  t.match(keysFile, /sha256: [0-9a-f]{64}/);
  t.notMatch(keysFile, /ak_/, 'the keys file holds the digest, never the key');
});
