import type { Clock } from "../../core/schedules/scheduler.ts";

/**
 * Time moved by hand for the schedules' timer: `advance` sets the clock and
 * fires the timers that came due, in order. croner still does every due-time
 * evaluation; only "now" and the waiting are the test's.
 */
export class ManualClock implements Clock {
  private timers = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;

  constructor(public t: number) {}

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): number {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    // A timer for a time already reached fires on its own, as setTimeout(fn, 0) would.
    if (ms <= 0) queueMicrotask(() => this.advance(this.t));
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Timers waiting, earliest first (what the scheduler armed). */
  pending(): number[] {
    return [...this.timers.values()].map((x) => x.at).sort((a, b) => a - b);
  }

  /** Moves to `to`, firing each timer due by then (timers they set that are also due fire too). */
  advance(to: number): void {
    this.t = Math.max(this.t, to);
    for (;;) {
      const due = [...this.timers].filter(([, x]) => x.at <= this.t).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) return;
      this.timers.delete(due[0]);
      due[1].fn();
    }
  }
}
