/**
 * The timer. Every schedule's next due time sits in one heap and one timer
 * waits for the earliest, so 10,000 idle schedules cost a heap and nothing
 * else. When a due time comes the schedule's row is read fresh, the cursor
 * moves on (compare-and-set), the due time is claimed (a lease in the bus's KV
 * bucket, then a unique run row, so two cores during an upgrade run it once),
 * and the run starts under its overlap policy. Due times found in the past (a downtime, a
 * stall) go through the schedule's catch-up policy.
 */
import { type Kv, KvConflictError } from "../bus/types.ts";
import { AppError } from "../errors.ts";
import type { UsageLedger } from "../models/usage.ts";
import type { Notifications } from "../notifications/service.ts";
import type { Logger } from "../telemetry/log.ts";
import { newId } from "../util/ids.ts";
import { type Alert, DeadMan, type Going } from "./deadman.ts";
import { DueHeap } from "./heap.ts";
import type { SchedulesSettings } from "./keys.ts";
import type { RunEnd, Started } from "./runner.ts";
import { actionOf, type RunLink, type RunRow, type ScheduleRow, type ScheduleStore, whenOf } from "./store.ts";
import { localTime, Timing } from "./timing.ts";

/** Time and timers, injectable so tests move time by hand. */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * The timer wakes at least this often to pick up schedules another core
 * sharing the database made or changed (an upgrade's two cores): one indexed
 * query for rows updated since the last look.
 */
export const SYNC_MS = 30_000;

export interface SchedulerDeps {
  store: ScheduleStore;
  kv: Kv;
  clock: Clock;
  settings: SchedulesSettings;
  ledger: UsageLedger;
  notifications: Notifications;
  log: Logger;
  instance: string;
  start(row: ScheduleRow, timeoutMs: number): Promise<Started>;
}

interface Pending {
  runId: string;
  dueAt: number;
  caughtUp: boolean;
}

export const timingOf = (row: ScheduleRow) => new Timing(whenOf(row), row.timeZone, row.createdAt);

export class Scheduler {
  private heap = new DueHeap();
  private timer: unknown;
  private armedFor: number | undefined;
  private active = new Map<string, Going>();
  /** Queued behind the running one: one for overlap "queue", several for catch-up "each". */
  private waiting = new Map<string, Pending[]>();
  private runs = new Set<Promise<void>>();
  private deadman: DeadMan;
  private stopped = false;
  private syncedAt = 0;

  constructor(private d: SchedulerDeps) {
    this.deadman = new DeadMan({ ...d, now: () => d.clock.now() });
  }

  /** Loads every due time and handles those that passed while bakerst was down. */
  async start(): Promise<void> {
    const now = this.d.clock.now();
    this.syncedAt = now;
    const abandoned = this.d.store.abandon(now - this.d.settings.SCHEDULE_RUN_TIMEOUT_MS, now);
    if (abandoned) this.d.log.warn("runs left unfinished by a stopped bakerst were marked failed", { count: abandoned });
    const overdue: { id: string; at: number }[] = [];
    for (const { id, nextDueAt } of this.d.store.due()) {
      if (nextDueAt <= now) overdue.push({ id, at: nextDueAt });
      else this.heap.set(id, nextDueAt);
    }
    for (const o of overdue) await this.fire(o.id, o.at, true);
    this.arm();
  }

  /**
   * Stops the timer. Runs going on are not stopped here (the brain drains its
   * turns, jobs and tasks go on by themselves); their end is waited for a
   * moment, and one that ends later is found unfinished by the next start.
   */
  async stop(waitMs = 2_000): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.d.clock.clearTimer(this.timer);
    this.timer = undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.allSettled([...this.runs]), new Promise((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
  }

  /** Schedules loaded in the timer. */
  get size(): number {
    return this.heap.size;
  }

  /** The schedule's due time changed (created, edited, paused, resumed, deleted). */
  reschedule(id: string, nextDueAt: number | null | undefined): void {
    this.heap.set(id, nextDueAt);
    if (nextDueAt === null || nextDueAt === undefined) this.deadman.forget(id);
    this.arm();
  }

  forget(id: string): void {
    this.heap.delete(id);
    this.deadman.forget(id);
    this.waiting.delete(id);
    this.arm();
  }

  alertFor(id: string): Alert | undefined {
    return this.deadman.get(id);
  }

  isRunning(id: string): boolean {
    return this.active.has(id);
  }

  /** Problems the owner was told about, and runs going on past the grace period. */
  health(): { alerts: Alert[]; running: number; loaded: number } {
    const now = this.d.clock.now();
    for (const [id, a] of this.active) if (!a.stuckTold && now - a.startedAt > this.d.settings.SCHEDULE_GRACE_MS) this.deadman.stuck(this.d.store.get(id), a, now);
    return { alerts: this.deadman.list(), running: this.active.size, loaded: this.heap.size };
  }

  /** One timer, for the earliest due time (or the next look for changes, if sooner). */
  private arm(): void {
    if (this.stopped) return;
    const now = this.d.clock.now();
    const at = Math.min(this.heap.peek()?.at ?? Number.POSITIVE_INFINITY, this.syncedAt + SYNC_MS);
    if (at === this.armedFor && this.timer !== undefined) return;
    if (this.timer !== undefined) this.d.clock.clearTimer(this.timer);
    this.armedFor = at;
    this.timer = this.d.clock.setTimer(() => void this.tick(), Math.max(0, at - now));
    (this.timer as { unref?: () => void } | undefined)?.unref?.();
  }

  /** Schedules made or changed by another core sharing the database since the last look. */
  private sync(now: number): void {
    if (now - this.syncedAt < SYNC_MS) return;
    // A second of overlap: a row written in the same millisecond as the last look is not missed.
    for (const r of this.d.store.changedSince(this.syncedAt - 1000)) this.heap.set(r.id, r.paused ? null : r.nextDueAt);
    this.syncedAt = now;
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    this.armedFor = undefined;
    if (this.stopped) return;
    this.sync(this.d.clock.now());
    const due = this.heap.popDue(this.d.clock.now());
    for (const e of due) {
      try {
        await this.fire(e.id, e.at, false);
      } catch (err) {
        this.d.log.error("a due schedule could not be handled", { scheduleId: e.id, error: err as Error });
      }
    }
    this.arm();
  }

  /** A due time came (or was found in the past at start): claim it, move the cursor, run per the policies. */
  private async fire(id: string, dueAt: number, atStart: boolean): Promise<void> {
    const row = this.d.store.get(id);
    if (!row || row.paused || row.nextDueAt === null) return;
    if (row.nextDueAt !== dueAt) {
      // Another core or an edit moved it: follow the row.
      this.heap.set(id, row.nextDueAt);
      return;
    }
    const now = this.d.clock.now();
    const timing = timingOf(row);
    const { SCHEDULE_CATCH_UP_MAX: cap, SCHEDULE_GRACE_MS: grace } = this.d.settings;
    // The due times up to now: the one that came, and any others passed meanwhile (counted up to a bound).
    const times = [dueAt];
    for (let t = timing.next(dueAt); t !== undefined && t <= now && times.length <= cap; t = timing.next(t)) times.push(t);
    const more = times.length > cap;
    const next = timing.next(Math.max(now, times[times.length - 1]!)) ?? null;
    // The cursor moves first (compare-and-set: with a shared database one core wins here), then the
    // lease (one winner across cores whatever they share). A crash between the two loses that due
    // time rather than running it twice, and never leaves a cursor nobody moves.
    if (!this.d.store.advance(id, dueAt, next, now)) {
      this.heap.set(id, this.d.store.get(id)?.nextDueAt);
      return;
    }
    this.heap.set(id, next);
    if (!(await this.claim(id, dueAt))) return;
    // Due times that came within the grace period run as due, in order (the timer was busy, not stalled).
    const late = now - dueAt > grace;
    if (!atStart && !late && !more) {
      this.deadman.onTime(id);
      for (const t of times) this.run(row, t, false);
      return;
    }
    // Missed due times: after a downtime (at start) or a stall (the process was stuck, the clock jumped).
    const missed = more ? `more than ${cap}` : String(times.length);
    const why = atStart ? "while bakerst was down" : `(the first ${Math.round((now - dueAt) / 1000)} s late: bakerst stalled, was busy or the clock jumped)`;
    if (late && !atStart) this.deadman.missed(row, dueAt);
    const last = times[times.length - 1]!;
    if (row.catchUp === "skip") {
      this.record(row, last, "skipped", `${missed} due time(s) passed ${why}; catch-up policy skip`);
    } else if (row.catchUp === "once") {
      this.run(row, last, true, times.length > 1 ? `runs once for ${missed} due times passed ${why}` : undefined);
    } else {
      const each = times.slice(0, cap);
      for (const t of each) this.run(row, t, true);
      if (more) this.record(row, last + 1, "skipped", `more due times passed ${why} than SCHEDULE_CATCH_UP_MAX (${cap}); the rest were skipped`);
    }
  }

  /** The lease of one due time: whichever core creates the key runs it. */
  private async claim(id: string, dueAt: number): Promise<boolean> {
    try {
      await this.d.kv.create(`schedule.${id}.${dueAt}`, new TextEncoder().encode(this.d.instance));
      return true;
    } catch (err) {
      if (err instanceof KvConflictError) return false;
      throw err;
    }
  }

  private record(row: ScheduleRow, dueAt: number, status: "skipped", reason: string, trigger: RunRow["trigger"] = "due"): RunRow | undefined {
    const r = this.d.store.addRun({ ...this.newRun(row.id, dueAt, trigger), status, reason, endedAt: this.d.clock.now() });
    this.d.store.trim(row.id, this.d.settings.SCHEDULE_HISTORY);
    return r;
  }

  private newRun(scheduleId: string, dueAt: number, trigger: RunRow["trigger"]): RunRow {
    return {
      id: newId(),
      scheduleId,
      dueAt,
      trigger,
      status: "queued",
      reason: null,
      caughtUp: false,
      startedAt: null,
      endedAt: null,
      link: null,
      costUsd: null,
      instance: this.d.instance,
    };
  }

  /** Runs now by hand (the console's "run now", the API); the overlap policy still applies. */
  runNow(row: ScheduleRow): RunRow | undefined {
    const now = this.d.clock.now();
    // Two clicks in one millisecond: the second takes the next one (a due time has one row per trigger).
    for (let i = 0; i < 8; i++) {
      const r = this.run(row, now + i, false, undefined, "manual");
      if (r) return r;
    }
    return undefined;
  }

  /** A due time to run: now, queued behind the running one, or skipped, per the overlap policy. */
  private run(row: ScheduleRow, dueAt: number, caughtUp: boolean, note?: string, trigger: RunRow["trigger"] = "due"): RunRow | undefined {
    const busy = this.active.get(row.id);
    const waiting = this.waiting.get(row.id) ?? [];
    if (busy) {
      const now = this.d.clock.now();
      this.deadman.stuck(row, busy, now);
      // Catch-up "each" lines its runs up; overlap "queue" keeps one waiting.
      const queueIt = (caughtUp && row.catchUp === "each") || (row.overlap === "queue" && waiting.length === 0);
      if (!queueIt) {
        const reason = row.overlap === "queue" ? "overlap: a run is going and one already waits" : `overlap: the run due ${localTime(busy.dueAt, row.timeZone)} is still going`;
        return this.record(row, dueAt, "skipped", reason, trigger);
      }
      const r = this.d.store.addRun({ ...this.newRun(row.id, dueAt, trigger), caughtUp, reason: note ?? null });
      if (r) this.waiting.set(row.id, [...waiting, { runId: r.id, dueAt, caughtUp }]);
      return r;
    }
    const r = this.d.store.addRun({ ...this.newRun(row.id, dueAt, trigger), caughtUp, reason: note ?? null });
    if (r) this.begin(row, r);
    return r;
  }

  /** Starts a run whose row exists. */
  private begin(row: ScheduleRow, run: RunRow): void {
    const now = this.d.clock.now();
    const a: Going = { runId: run.id, dueAt: run.dueAt, startedAt: now, stuckTold: false };
    this.active.set(row.id, a);
    this.d.store.updateRun(run.id, { status: "running", startedAt: now });
    const p = this.execute(row, run)
      // A run that ends after shutdown closed the database cannot be recorded; the next start finds it unfinished.
      .catch((err) => this.d.log.error("a scheduled run could not be recorded", { scheduleId: row.id, runId: run.id, error: err as Error }))
      .finally(() => {
        this.runs.delete(p);
        if (this.active.get(row.id) === a) this.active.delete(row.id);
        if (this.stopped) return;
        this.d.store.trim(row.id, this.d.settings.SCHEDULE_HISTORY);
        this.next(row.id);
      });
    this.runs.add(p);
  }

  /** The next run waiting behind the one that ended. */
  private next(id: string): void {
    const q = this.waiting.get(id);
    const head = q?.shift();
    if (!q?.length) this.waiting.delete(id);
    if (!head || this.stopped) return;
    const row = this.d.store.get(id);
    if (!row) return;
    const run = this.d.store.run(head.runId);
    if (run) this.begin(row, run);
  }

  private async execute(row: ScheduleRow, run: RunRow): Promise<void> {
    const timeoutMs = this.d.settings.SCHEDULE_RUN_TIMEOUT_MS;
    let end: RunEnd;
    let link: RunLink | undefined;
    let timer: unknown;
    try {
      // Agent work bills to the background budget: past it the run is skipped, and the owner told once a day.
      if (this.isAgentWork(row) && this.d.ledger.status().exceeded) throw new AppError("budget_exceeded", "today's budget is spent");
      const started = await this.d.start(row, timeoutMs);
      link = started.link;
      this.d.store.updateRun(run.id, { link: started.link });
      timer = this.d.clock.setTimer(() => started.stop(), timeoutMs);
      end = await started.done;
      link = started.link;
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError("internal", (err as Error).message);
      if (e.code === "budget_exceeded") {
        this.d.store.updateRun(run.id, { status: "skipped", endedAt: this.d.clock.now(), reason: this.deadman.budget(row) });
        return;
      }
      end = { ok: false, reason: `${e.code}: ${e.message}` };
    } finally {
      if (timer !== undefined) this.d.clock.clearTimer(timer);
    }
    this.d.store.updateRun(run.id, {
      status: end.ok ? "succeeded" : "failed",
      endedAt: this.d.clock.now(),
      reason: end.ok ? run.reason : (end.reason ?? "failed").slice(0, 2000),
      ...(link ? { link } : {}),
      ...(end.costUsd !== undefined ? { costUsd: end.costUsd } : {}),
    });
    this.deadman.settle(row.id, end.ok, run.id);
  }

  private isAgentWork(row: ScheduleRow): boolean {
    const a = actionOf(row);
    return a.kind === "agent" || (a.kind === "job" && a.job.type === "agent") || (a.kind === "task" && a.task.mode === "agent");
  }
}
