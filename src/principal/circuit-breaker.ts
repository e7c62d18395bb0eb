/**
 * Closed until `threshold` consecutive failures, then open for `resetMs`; then half-open: a single trial call
 * decides between closing again and another open period.
 */
export class CircuitBreaker {
  private state: 'closed' | 'open' | 'half_open' = 'closed';
  private failures = 0;
  private openUntil = 0;

  constructor(private readonly threshold: number, private readonly resetMs: number) {}

  /** Whether a call may go out now; in half-open state only the first caller gets through. */
  allowRequest(now = Date.now()): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open' && now >= this.openUntil) {
      this.state = 'half_open';
      return true;
    }
    return false;
  }

  /** True when this success closed the breaker. */
  recordSuccess(): boolean {
    const wasOpen = this.state !== 'closed';
    this.state = 'closed';
    this.failures = 0;
    return wasOpen;
  }

  /** True when this failure opened the breaker. */
  recordFailure(now = Date.now()): boolean {
    this.failures += 1;
    if (this.state === 'open') return false;
    if (this.state === 'half_open' || this.failures >= this.threshold) {
      this.state = 'open';
      this.openUntil = now + this.resetMs;
      return true;
    }
    return false;
  }
}
