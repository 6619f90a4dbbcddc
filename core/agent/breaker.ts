export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  threshold: number;
  /** How long it stays open before one trial call is let through. */
  cooldownMs: number;
  now?: () => number;
}

/** One per provider: stops hammering a provider that is down and lets the fallback chain move on at once. */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  state: BreakerState = "closed";

  constructor(private opts: BreakerOptions) {}

  private now() {
    return (this.opts.now ?? Date.now)();
  }

  /** True when a call may go ahead; in half-open only one trial at a time. */
  allow(): boolean {
    if (this.state === "open" && this.now() - this.openedAt >= this.opts.cooldownMs) {
      this.state = "half_open";
      this.trialInFlight = false;
    }
    if (this.state === "closed") return true;
    if (this.state === "half_open" && !this.trialInFlight) {
      this.trialInFlight = true;
      return true;
    }
    return false;
  }

  success(): void {
    this.failures = 0;
    this.state = "closed";
    this.trialInFlight = false;
  }

  failure(): void {
    this.failures++;
    this.trialInFlight = false;
    if (this.state === "half_open" || this.failures >= this.opts.threshold) {
      this.state = "open";
      this.openedAt = this.now();
    }
  }

  /** Milliseconds until a trial call is allowed; 0 when calls go through. */
  retryInMs(): number {
    if (this.state !== "open") return 0;
    return Math.max(0, this.opts.cooldownMs - (this.now() - this.openedAt));
  }

  snapshot() {
    return { state: this.state, consecutiveFailures: this.failures, retryInMs: this.retryInMs() };
  }
}
