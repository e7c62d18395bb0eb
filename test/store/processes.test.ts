import { collect } from '../helpers/collect.js';
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openAuditStore } from '../../src/store/index.js';
import { lmdbOpenFixInstalled } from '../../src/store/lmdb-fix.js';
import { capturingLogger, checkConsistency, storeConfig } from './fixtures/helpers.js';

const WRITER = fileURLToPath(new URL('./fixtures/writer.ts', import.meta.url));

/** Runs the writer with the same TypeScript loader as this test; calls onLine for each stdout line. */
function startWriter(args: string[], onLine: (line: string) => void = () => undefined): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [...process.execArgv, WRITER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buffered = '';
  child.stdout!.on('data', (data: Buffer) => {
    buffered += data.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    lines.forEach(onLine);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited };
}

t.test('two processes write to one environment at once', async (t) => {
  const path = t.testdir();
  // Both open the store before either writes: an open beside another process's commits is the lmdb-js bug below.
  let open = 0;
  const writers = ['org-1', 'org-2'].map((org) => startWriter([path, org, '3000', '250', '--after-go'], (line) => {
    if (line === 'open' && ++open === 2) for (const writer of writers) writer.child.stdin!.write('go\n');
  }));
  t.same(await Promise.all(writers.map((writer) => writer.exited)), [0, 0]);
  const store = openAuditStore(storeConfig(path), capturingLogger().logger, { readOnly: true });
  for (const org of ['org-1', 'org-2']) {
    t.equal((await store.query({ organizationId: org }, { limit: 1, withTotal: true })).total, 3000);
    t.equal((await store.query({ organizationId: org, apiKeyId: `${org}-key` }, { limit: 1, withTotal: true })).total, 3000);
  }
  t.equal((await store.query({}, { limit: 1, withTotal: true })).total, 6000);
  t.same(store.readLog(0, 10_000).map((entry) => entry.seq), Array.from({ length: 6000 }, (_, i) => i + 1), 'one commit sequence across both processes, no gaps or repeats');
  await store.close();
  const { problems, records } = await checkConsistency(path);
  t.same(problems, []);
  t.equal(records, 6000);
});

t.test('records committed before a kill -9 are there on reopen', async (t) => {
  const path = t.testdir();
  let committed = 0;
  let killedAt = 0;
  const writer = startWriter([path, 'org-k', '0', '100'], (line) => {
    const match = /^committed (\d+)$/.exec(line);
    if (match) committed = Number(match[1]);
    if (committed >= 2000 && !killedAt) {
      killedAt = committed;
      writer.child.kill('SIGKILL');
    }
  });
  await writer.exited;
  t.equal(writer.child.signalCode, 'SIGKILL');
  t.ok(killedAt >= 2000);
  const store = openAuditStore(storeConfig(path), capturingLogger().logger);
  t.teardown(() => store.close());
  const present = new Set((await collect(store.iterate({ organizationId: 'org-k' }))).map((record) => record.requestId));
  const missing = Array.from({ length: killedAt }, (_, i) => `org-k-${i}`).filter((requestId) => !present.has(requestId));
  t.same(missing, [], 'every record reported committed survived');
  await store.close();
  t.same((await checkConsistency(path)).problems, [], 'no record without its index entries, or the reverse');
});

// lmdb-js 3.5 resets the lock file's last transaction id to the meta page it read when a process opens the environment
// (mdb_env_open2; upstream LMDB does it only with MDB_PREVSNAPSHOT). A commit by another process between that read
// and the reset is overwritten by the next commit: its records are gone and its seqs given again. docs/security.md.
// With the fix installed (scripts/lmdb-open-fix.mjs at npm install) these assertions must hold; without it, TODO.
const LMDB_OPEN_BUG = lmdbOpenFixInstalled() ? {} : { todo: 'lmdb-js not rebuilt with the fix of its open bug (docs/security.md, "Opening a store beside a running proxy")' };

t.test('a process opening the store while another commits loses none of its records', async (t) => {
  const path = t.testdir();
  await openAuditStore(storeConfig(path), capturingLogger().logger).close(); // its writer thread too, before this process opens it again
  const writer = startWriter([path, 'org-o', '6000', '50']);
  let running = true;
  void writer.exited.then(() => running = false);
  let opens = 0;
  const refused: string[] = [];
  while (running) {
    try {
      const reader = openAuditStore(storeConfig(path), capturingLogger().logger, { readOnly: true });
      await reader.close();
      opens++;
    } catch (error) {
      // Once in a CI run (of a few thousand opens in all) an open failed in LMDB's lock setup with EINVAL while the
      // writer process started or ended; not reproduced since. This test is about commits never lost, not every open.
      refused.push((error as Error).message);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  t.ok(refused.every((message) => /setup locks/.test(message)), `opens refused only by the lock-file race: ${refused.join('; ')}`);
  t.equal(await writer.exited, 0);
  t.ok(opens > 10, `${opens} read-only opens while it wrote`);
  const store = openAuditStore(storeConfig(path), capturingLogger().logger, { readOnly: true });
  t.teardown(() => store.close());
  t.equal(store.lastSeq(), 6000, 'every batch got seqs of its own', LMDB_OPEN_BUG);
  t.equal((await store.query({ organizationId: 'org-o' }, { limit: 1, withTotal: true })).total, 6000, 'every record is there', LMDB_OPEN_BUG);
});
