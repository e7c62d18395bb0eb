import cluster from 'node:cluster';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { clusterMetricsReader } from './cluster-metrics.js';
import type { AuditStore } from './store/store.js';
import type { Outcome } from './audit/record.js';

/** Prometheus metrics of one worker process; under --workers N a scrape reports every worker's, aggregated. */
export class ProxyMetrics {
  readonly registry = new Registry();
  /** The text a scrape gets: this process's registry, or the cluster's aggregate in a worker. */
  readonly text: () => Promise<string>;
  private readonly requests: Counter<'outcome' | 'status_class'>;
  private readonly duration: Histogram<'outcome'>;
  private readonly slowClients: Counter<'phase'>;
  /** Label lookups done once per label set, not per request (prom-client hashes the labels on every call). */
  private readonly counterFor = new Map<string, { inc(): void }>();
  private readonly histogramFor = new Map<Outcome, { observe(value: number): void }>();

  constructor(store: AuditStore | null) {
    collectDefaultMetrics({ register: this.registry, prefix: 'audit_proxy_' });
    this.requests = new Counter({
      name: 'audit_proxy_requests_total', help: 'Requests handled, by outcome and status class.',
      labelNames: ['outcome', 'status_class'], registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'audit_proxy_request_duration_seconds', help: 'Arrival to last byte.',
      labelNames: ['outcome'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers: [this.registry],
    });
    this.slowClients = new Counter({
      name: 'audit_proxy_slow_clients_total', help: 'Clients answered 408 for sending a request head or body too slowly.',
      labelNames: ['phase'], registers: [this.registry],
    });
    if (store) this.storeGauges(store);
    this.text = cluster.isWorker ? clusterMetricsReader(this.registry) : () => this.registry.metrics();
  }

  /** A client cut off for sending its request head (never recorded: no request exists yet) or its body too slowly. */
  slowClient(phase: 'head' | 'body'): void {
    this.slowClients.labels(phase).inc();
  }

  observe(outcome: Outcome, statusCode: number, durationMs: number): void {
    const statusClass = Math.floor(statusCode / 100);
    const key = `${outcome}${statusClass}`;
    let counter = this.counterFor.get(key);
    if (!counter) this.counterFor.set(key, (counter = this.requests.labels(outcome, `${statusClass}xx`)));
    counter.inc();
    let histogram = this.histogramFor.get(outcome);
    if (!histogram) this.histogramFor.set(outcome, (histogram = this.duration.labels(outcome)));
    histogram.observe(durationMs / 1000);
  }

  private storeGauges(store: AuditStore): void {
    const gauge = (name: string, help: string, read: () => number, aggregator: 'sum' | 'min' = 'sum'): void => {
      new Gauge({ name, help, registers: [this.registry], aggregator, collect() { this.set(read()); } });
    };
    gauge('audit_proxy_store_queue_depth', 'Records waiting to be written.', () => store.health().queueDepth);
    gauge('audit_proxy_store_queue_capacity', 'Most records that may wait.', () => store.health().queueCapacity);
    gauge('audit_proxy_store_written_total', 'Records committed (by every worker, under --workers N).', () => store.health().written);
    gauge('audit_proxy_store_dropped_total', 'Records that could not be stored (onFailure: open).', () => store.health().dropped);
    gauge('audit_proxy_store_evicted_total', 'Records evicted (oldest first) to stay below store.mapSizeMb.', () => store.health().evicted ?? 0);
    gauge('audit_proxy_store_healthy', '1 when the store accepts records (in every worker).', () => (store.accepting() ? 1 : 0), 'min');
  }
}
