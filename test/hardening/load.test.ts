import { collect } from '../helpers/collect.js';
// Issue 7, item 1 (short form): 100 connections for 10 s through the real proxy with a mix of methods, bodies,
// streamed and slow answers. The 60 s, 200-connection run is `node dist/bench/soak.js` (bench/soak.ts).
import t from 'tap';
import { checkRecords, rssGrowth, runLoad, startLoadUpstream } from '../../bench/load.js';
import { startTestProxy } from '../helpers/proxy.js';
import { anonRss, errorLines, MIB } from './fixtures/process.js';

const CONNECTIONS = 100;
const DURATION_MS = 10_000;
/** Anonymous memory the last third of the run may add over the middle third (GC timing alone moves it by MiBs). */
const RSS_SLACK = 96 * MIB;

t.test(`${CONNECTIONS} connections for ${DURATION_MS / 1000} s: no error, every request recorded once, memory flat`, async (t) => {
  const upstream = await startLoadUpstream();
  const proxy = await startTestProxy(upstream.url, { log: { requests: false }, capture: { requestBody: { maxBytes: 4096 } } });
  t.teardown(async () => {
    await proxy.close();
    await upstream.close();
  });

  const result = await runLoad({ url: proxy.url, connections: CONNECTIONS, durationMs: DURATION_MS, idPrefix: 'load', rss: anonRss, rssEveryMs: 500 });
  t.comment(`${result.sent.length} requests in ${result.elapsedMs} ms`);
  t.ok(result.sent.length > CONNECTIONS, 'each connection sent several requests');
  t.same(result.problems, [], 'every answer was a 200 with the expected body and request id');
  t.equal(result.ok, result.sent.length);

  const store = proxy.services.store!;
  await store.flush();
  const check = checkRecords(result.sent, (await collect(store.iterate({}))).map((r) => r.requestId), 'load');
  t.same(check.missing, [], 'no request is missing its record');
  t.same(check.duplicated, [], 'no request was recorded twice');
  t.equal(check.records, result.sent.length, 'records = requests sent');
  t.equal(store.health().dropped, 0, 'the store dropped nothing');

  t.same(errorLines(proxy.logs), [], 'the proxy logged no error');
  const rss = rssGrowth(result.rssSamples);
  t.comment(`anonymous RSS: settled ${(rss.settled / MIB).toFixed(1)} MiB, end ${(rss.last / MIB).toFixed(1)} MiB`);
  t.ok(rss.growth < RSS_SLACK, `memory stable (grew ${(rss.growth / MIB).toFixed(1)} MiB in the last third)`);
});
