/**
 * Counts failed authentications per client in a sliding window. Past the
 * limit the client is refused (429) until its oldest failure ages out, so
 * guessing the token is slow while the owner's own typo costs nothing.
 */
export class FailureLimiter {
  private failures = new Map<string, number[]>();
  /** When each client was last reported blocked. */
  private reported = new Map<string, number>();
  /**
   * Told when a failure takes a client to the limit, at most once a window:
   * a client that keeps trying re-blocks at every freed slot, and the audit
   * log needs one row for that, not one per try.
   */
  onBlock: (key: string, blockedForMs: number) => void = () => {};

  constructor(
    private max = 10,
    private windowMs = 5 * 60_000,
    private now: () => number = Date.now,
  ) {}

  private recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length) this.failures.set(key, list);
    else {
      this.failures.delete(key);
      this.reported.delete(key);
    }
    return list;
  }

  /** Milliseconds until this client may try again; 0 when it may try now. */
  blockedFor(key: string): number {
    const list = this.recent(key);
    if (list.length < this.max) return 0;
    return Math.max(1, list[list.length - this.max]! + this.windowMs - this.now());
  }

  fail(key: string): void {
    const list = this.recent(key);
    list.push(this.now());
    this.failures.set(key, list);
    if (list.length === this.max && (this.reported.get(key) ?? -Infinity) <= this.now() - this.windowMs) {
      this.reported.set(key, this.now());
      if (this.reported.size > 10_000) this.reported.delete(this.reported.keys().next().value!);
      this.onBlock(key, this.blockedFor(key));
    }
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
  }

  reset(key: string): void {
    this.failures.delete(key);
    this.reported.delete(key);
  }
}
