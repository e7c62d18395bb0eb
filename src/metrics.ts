import cluster from 'node:cluster';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { clusterMetricsReader } from './cluster-metrics.js';
import type { AuditStore } from './store/store.js';
import type { Outcome } from './audit/record.js';
import { LabelledHistogram } from './labelled-histogram.js';

const OUTCOMES: readonly Outcome[] = ['completed', 'upstream_error', 'upstream_timeout', 'client_aborted', 'rejected'];
const OUTCOME_INDEX = Object.fromEntries(OUTCOMES.map((o, i) => [o, i])) as Record<Outcome, number>;
/** 0xx (no status sent) to 9xx: what a three-digit status can start with. */
const STATUS_CLASSES = 10;

/** Prometheus metrics of one worker process; under --workers N a scrape reports every worker's, aggregated. */
export class ProxyMetrics {
  readonly registry = new Registry();
  /** The text a scrape gets: this process's registry, or the cluster's aggregate in a worker. */
  readonly text: () => Promise<string>;
  private readonly requests: Counter<'outcome' | 'status_class'>;
  private readonly duration: LabelledHistogram<Outcome>;
  private readonly slowClients: Counter<'phase'>;
  /** Requests not yet handed to the counter, by outcome and status class (prom-client hashes labels per call). */
  private readonly pendingRequests = new Float64Array(OUTCOMES.length * STATUS_CLASSES);

  constructor(store: AuditStore | null) {
    collectDefaultMetrics({ register: this.registry, prefix: 'audit_proxy_' });
    const flush = (): void => this.flushRequests();
    this.requests = new Counter({
      name: 'audit_proxy_requests_total', help: 'Requests handled, by outcome and status class.',
      labelNames: ['outcome', 'status_class'], registers: [this.registry], collect: flush,
    });
    this.duration = new LabelledHistogram('audit_proxy_request_duration_seconds', 'Arrival to last byte.', 'outcome', OUTCOMES,
      [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30]);
    this.registry.registerMetric(this.duration.asMetric());
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

  /** Counted in plain arrays; the counter gets them when scraped (see the constructor). */
  observe(outcome: Outcome, statusCode: number, durationMs: number): void {
    const index = OUTCOME_INDEX[outcome];
    this.pendingRequests[index * STATUS_CLASSES + Math.min(Math.floor(statusCode / 100), STATUS_CLASSES - 1)]!++;
    this.duration.observe(index, durationMs / 1000);
  }

  private flushRequests(): void {
    this.pendingRequests.forEach((count, i) => {
      if (count === 0) return;
      this.requests.inc({ outcome: OUTCOMES[Math.floor(i / STATUS_CLASSES)]!, status_class: `${i % STATUS_CLASSES}xx` }, count);
      this.pendingRequests[i] = 0;
    });
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
