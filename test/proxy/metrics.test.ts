import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import t from 'tap';
import type { Outcome } from '../../src/audit/record.js';
import { ProxyMetrics } from '../../src/metrics.js';

const BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];
const SEEN: [Outcome, number, number][] = [
  ['completed', 200, 0.4], ['completed', 200, 1], ['completed', 404, 7.5], ['upstream_error', 502, 30_000],
  ['upstream_timeout', 504, 31_000.5], ['client_aborted', 0, 0], ['rejected', 401, 0.2], ['completed', 999, 12],
];

/** The same observations through prom-client's own Counter and Histogram: what the scrape said before issue 11. */
function reference(): Registry {
  const registry = new Registry();
  const requests = new Counter({ name: 'audit_proxy_requests_total', help: 'Requests handled, by outcome and status class.', labelNames: ['outcome', 'status_class'], registers: [registry] });
  const duration = new Histogram({ name: 'audit_proxy_request_duration_seconds', help: 'Arrival to last byte.', labelNames: ['outcome'], buckets: BUCKETS, registers: [registry] });
  for (const [outcome, status, ms] of SEEN) {
    requests.labels(outcome, `${Math.floor(status / 100)}xx`).inc();
    duration.labels(outcome).observe(ms / 1000);
  }
  return registry;
}

function ours(): ProxyMetrics {
  const metrics = new ProxyMetrics(null);
  for (const [outcome, status, ms] of SEEN) metrics.observe(outcome, status, ms);
  return metrics;
}

/** A metric's lines, sorted: label sets come out in the order they were first seen by prom-client, by outcome here. */
const section = (text: string, name: string): string[] => text.split('\n').filter((l) => l.includes(name)).sort();

t.test('issue 11: request counts and durations kept in arrays scrape as prom-client\'s Counter and Histogram did', async (t) => {
  const [mine, theirs] = [await ours().registry.metrics(), await reference().metrics()];
  for (const name of ['audit_proxy_requests_total', 'audit_proxy_request_duration_seconds']) {
    t.same(section(mine, name), section(theirs, name), name);
  }
  const metrics = ours();
  await metrics.registry.metrics();
  t.match(await metrics.registry.metrics(), /audit_proxy_requests_total\{outcome="completed",status_class="2xx"\} 2\n/,
    'a second scrape counts nothing twice');
});

t.test('issue 11: summed across workers like prom-client\'s', async (t) => {
  const json = async (r: Registry) => (await r.getMetricsAsJSON()).filter((m) => m.name.startsWith('audit_proxy_request'));
  const mine = AggregatorRegistry.aggregate([await json(ours().registry), await json(ours().registry)]);
  const theirs = AggregatorRegistry.aggregate([await json(reference()), await json(reference())]);
  t.same((await mine.metrics()).split('\n').sort(), (await theirs.metrics()).split('\n').sort());
  const metrics = ours();
  metrics.registry.resetMetrics();
  t.notMatch(await metrics.registry.metrics(), /audit_proxy_request_duration_seconds_count/, 'reset empties the histogram');
});
