import { Gauge, Histogram, type Registry } from 'prom-client';
import type { AuditRecord } from '../audit/record.js';
import type { Shipper } from './shipper.js';
import type { FleetStatus } from './status.js';
import { recordTimeMs } from '../audit/iso-time.js';

/** Fleet sink metrics: lag in every worker; shipped totals, failures and delivery delay where the shipper runs. */
export class FleetMetrics {
  private delay: Histogram | null = null;

  constructor(private readonly registry: Registry) {}

  watch(status: FleetStatus, shipper: Shipper | null): void {
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name, help, registers: [this.registry], collect() { this.set(read()); } });
    };
    gauge('audit_proxy_fleet_lag_records', 'Committed records the fleet sink has not acknowledged.', () => status.lag().records);
    gauge('audit_proxy_fleet_lag_seconds', 'Age of the oldest record the fleet sink has not acknowledged.', () => status.lag().seconds);
    gauge('audit_proxy_fleet_degraded', '1 when the fleet sink is degraded (failing, or lagging past fleet.degradedAfterMs).', () => (status.problem() ? 1 : 0));
    if (!shipper) return;
    gauge('audit_proxy_fleet_shipped_records_total', 'Records acknowledged by the fleet sink (this process).', () => shipper.shippedRecords);
    gauge('audit_proxy_fleet_shipped_batches_total', 'Batches acknowledged by the fleet sink (this process).', () => shipper.shippedBatches);
    gauge('audit_proxy_fleet_failures_total', 'Failed attempts to ship a batch (each is retried).', () => shipper.failures);
    this.delay = new Histogram({
      name: 'audit_proxy_fleet_delivery_seconds', help: 'Arrival of a request to its record being acknowledged by the fleet sink.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300], registers: [this.registry],
    });
  }

  /** The shipper's onShipped hook. */
  readonly shipped = (batch: readonly AuditRecord[], ackedAtMs: number): void => {
    for (const record of batch) this.delay?.observe((ackedAtMs - recordTimeMs(record.createdAt)) / 1000);
  };
}
