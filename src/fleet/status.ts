import type { CommitLog } from '../store/store.js';
import { FLEET_FOLLOWER, type Shipper } from './shipper.js';

export interface Lag {
  records: number;
  /** Age of the oldest record not yet acknowledged by the sink; 0 when caught up. */
  seconds: number;
}

/**
 * What the fleet sink owes, seen from any process sharing the store: every worker answers /readyz and /metrics,
 * but only one ships, so the others read the acknowledged position from the commit log.
 */
export class FleetStatus {
  constructor(private readonly log: CommitLog, private readonly shipper: Shipper | null, private readonly degradedAfterMs: number) {}

  lag(nowMs = Date.now()): Lag {
    const acked = this.shipper?.position() ?? this.log.position(FLEET_FOLLOWER);
    const oldest = this.log.readLog(acked, 1)[0];
    if (!oldest) return { records: 0, seconds: 0 };
    return { records: Math.max(0, this.log.lastSeq() - acked), seconds: Math.max(0, nowMs - oldest.createdAtMs) / 1000 };
  }

  /** Why the fleet sink counts as degraded, or null: shipping fails, or records wait longer than degradedAfterMs. */
  problem(): string | null {
    if (this.shipper?.state === 'failing') return `fleet sink degraded: ${this.shipper.lastError ?? 'shipping fails'}`;
    const lag = this.lag();
    if (lag.records > 0 && lag.seconds * 1000 > this.degradedAfterMs) {
      return `fleet sink degraded: ${lag.records} records not shipped, the oldest ${Math.round(lag.seconds)} s old`;
    }
    return null;
  }
}
