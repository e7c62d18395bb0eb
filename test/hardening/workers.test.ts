// Issue 7, item 2: kill -9 of one worker of `serve --workers 2` under load. The primary replaces it; no record
// committed before the kill is lost; nothing is recorded twice; every index agrees with the records afterwards.
// (Both workers write one LMDB environment, so this is also two processes on one environment, through the proxy.)
import t from 'tap';
import { checkRecords, recordedRequestIds, runLoad, startLoadUpstream } from '../../bench/load.js';
import { CliProcess } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { checkConsistency } from '../store/fixtures/helpers.js';

const LISTENING = /"pid":(\d+)[^\n]*"msg":"audit-proxy listening"/g;

function workerPids(cli: CliProcess): number[] {
  return [...cli.output.matchAll(LISTENING)].map((m) => Number(m[1]));
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('kill -9 of a worker under load: replaced, no committed record lost, indexes consistent', async (t) => {
  const upstream = await startLoadUpstream();
  t.teardown(() => upstream.close());
  const dataDir = t.testdir();
  const cli = new CliProcess(['serve', '--upstream', upstream.url, '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--workers', '2'],
    { AUDIT_PROXY__LOG__REQUESTS: 'false' });
  t.teardown(() => cli.kill());
  const [, port] = await cli.waitFor(/"port":(\d+)[^\n]*audit-proxy listening/);
  await eventually(() => workerPids(cli).length === 2, 15_000);
  const url = `http://127.0.0.1:${port}`;

  const before = await runLoad({ url, connections: 20, durationMs: 1_500, idPrefix: 'before' });
  t.same(before.problems, [], 'before the kill every request is answered');
  await settle(500); // commits overlap: well after its answer, every record of this phase is committed

  const during = runLoad({ url, connections: 20, durationMs: 3_000, idPrefix: 'during' });
  await settle(1_000);
  const [victim, survivor] = workerPids(cli);
  process.kill(victim!, 'SIGKILL');
  await cli.waitFor(/worker died; starting a replacement/);
  await eventually(() => workerPids(cli).length === 3, 15_000);
  const duringResult = await during;
  t.ok(duringResult.ok > 0, `traffic kept flowing through the kill (${duringResult.ok} of ${duringResult.sent.length} answered)`);

  const after = await runLoad({ url, connections: 20, durationMs: 1_500, idPrefix: 'after' });
  t.same(after.problems, [], 'after the restart every request is answered');
  t.ok(workerPids(cli).includes(survivor!), 'the other worker kept running');

  cli.child.kill('SIGTERM');
  t.equal(await cli.exited(), 0, 'the primary drains its workers and exits cleanly');

  const ids = await recordedRequestIds(dataDir);
  for (const [phase, result] of [['before', before], ['after', after]] as const) {
    const check = checkRecords(result.sent, ids, phase);
    t.same(check.missing, [], `${phase}: no record lost`);
    t.equal(check.records, result.sent.length, `${phase}: one record per request`);
  }
  const duringCheck = checkRecords(duringResult.sent, ids, 'during');
  t.comment(`during: ${duringResult.sent.length} sent, ${duringResult.ok} answered, ${duringCheck.records} recorded`);
  t.same(duringCheck.duplicated, [], 'during: nothing recorded twice');
  const sentDuring = new Set(duringResult.sent);
  t.ok(ids.filter((id) => id.startsWith('during-')).every((id) => sentDuring.has(id)), 'during: no record of a request never sent');
  t.ok(duringCheck.records >= duringResult.ok - 100, 'during: at most what was in flight in the killed worker is missing');

  const consistency = await checkConsistency(dataDir);
  t.same(consistency.problems, [], 'every index entry names a record and every record has its index entries');
  t.equal(consistency.records, ids.length);
});
