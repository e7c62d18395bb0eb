import type { Logger } from '../log.js';

/** Least time between two "records dropped" error lines, so a failing store cannot flood the log. */
const DROP_LOG_INTERVAL_MS = 5_000;

/** Logs dropped audit records loudly (logger.error with counts) at most once per interval. */
export class DropLog {
  private unreported = 0;
  private total = 0;
  private lastReason = '';
  private lastLoggedAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly logger: Logger) {}

  report(count: number, reason: string): void {
    this.unreported += count;
    this.total += count;
    this.lastReason = reason;
    if (this.timer) return;
    const wait = Math.max(0, this.lastLoggedAt + DROP_LOG_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => this.emit(), wait).unref();
  }

  /** Writes whatever is unreported now (called on close so nothing goes unlogged). */
  emit(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.unreported === 0) return;
    this.logger.error({ dropped: this.unreported, droppedTotal: this.total, reason: this.lastReason }, 'audit records dropped');
    this.unreported = 0;
    this.lastLoggedAt = Date.now();
  }
}
