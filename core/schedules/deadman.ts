/**
 * Dead-man alerts: what the owner is told when a schedule goes wrong (failures
 * in a row, a missed due time, a stuck run, the budget spent), each once,
 * through the notifications (console, and the chats the gateway delivers to),
 * and kept for health until the schedule runs well again.
 */
import type { UsageLedger } from "../models/usage.ts";
import type { Notifications } from "../notifications/service.ts";
import type { Logger } from "../telemetry/log.ts";
import type { SchedulesSettings } from "./keys.ts";
import type { ScheduleRow, ScheduleStore } from "./store.ts";
import { localTime } from "./timing.ts";

/** A problem the owner was told about, shown in health until the schedule runs well again. */
export interface Alert {
  scheduleId: string;
  name: string;
  kind: "failing" | "missed" | "stuck";
  message: string;
  at: number;
}

/** A run going on, as the dead-man sees it. */
export interface Going {
  runId: string;
  dueAt: number;
  startedAt: number;
  stuckTold: boolean;
}

export class DeadMan {
  private alerts = new Map<string, Alert>();

  constructor(private d: { store: ScheduleStore; settings: SchedulesSettings; notifications: Notifications; ledger: UsageLedger; log: Logger; now: () => number }) {}

  get(id: string): Alert | undefined {
    return this.alerts.get(id);
  }

  list(): Alert[] {
    return [...this.alerts.values()];
  }

  forget(id: string): void {
    this.alerts.delete(id);
  }

  /** A due time started on time: a missed-time alert is over. */
  onTime(id: string): void {
    if (this.alerts.get(id)?.kind === "missed") this.alerts.delete(id);
  }

  missed(row: ScheduleRow, dueAt: number): void {
    const grace = Math.round(this.d.settings.SCHEDULE_GRACE_MS / 1000);
    this.raise(
      row,
      "missed",
      `Schedule "${row.name}" missed its due time ${localTime(dueAt, row.timeZone)} by more than the grace period (${grace} s); catch-up policy ${row.catchUp}.`,
      `schedule_missed:${row.id}:${dueAt}`,
    );
  }

  /** Told once per run, when a run has gone on past the grace period. */
  stuck(row: ScheduleRow | undefined, a: Going, now: number): void {
    if (a.stuckTold || !row || now - a.startedAt <= this.d.settings.SCHEDULE_GRACE_MS) return;
    a.stuckTold = true;
    this.raise(
      row,
      "stuck",
      `Schedule "${row.name}": the run due ${localTime(a.dueAt, row.timeZone)} has been going for ${Math.round((now - a.startedAt) / 1000)} s, past the grace period; later due times wait or are skipped.`,
      `schedule_stuck:${a.runId}`,
    );
  }

  /** Counts failures in a row; at SCHEDULE_FAILURE_ALERT the owner is told, once per streak. */
  settle(id: string, ok: boolean, runId: string): void {
    const row = this.d.store.get(id);
    if (!row) return;
    if (ok) {
      if (row.consecutiveFailures) this.d.store.update(id, { consecutiveFailures: 0 });
      // A missed due time stays in health until a run is on time again.
      if (this.alerts.get(id)?.kind !== "missed") this.alerts.delete(id);
      return;
    }
    const n = row.consecutiveFailures + 1;
    this.d.store.update(id, { consecutiveFailures: n });
    if (n === this.d.settings.SCHEDULE_FAILURE_ALERT) {
      const last = this.d.store.runs(id, 1)[0];
      this.raise(row, "failing", `Schedule "${row.name}" failed ${n} times in a row; the last: ${last?.reason ?? "failed"}`.slice(0, 600), `schedule_failing:${id}:${runId}`);
    }
  }

  /** An agent run skipped past the daily budget: the reason for its row, and the owner told once a day. */
  budget(row: ScheduleRow): string {
    const b = this.d.ledger.status();
    this.d.notifications.notify({
      code: "schedule_budget",
      message: `Today's budget of $${b.dailyUsd} is spent: scheduled agent runs ("${row.name}" first) are skipped until tomorrow (UTC) or until DAILY_BUDGET_USD is raised.`,
      once: `schedule_budget:${b.day}`,
    });
    return `budget: today's budget of $${b.dailyUsd} is spent ($${b.spentUsd}); background work waits for tomorrow (UTC)`;
  }

  private raise(row: ScheduleRow, kind: Alert["kind"], message: string, once: string): void {
    this.alerts.set(row.id, { scheduleId: row.id, name: row.name, kind, message, at: this.d.now() });
    this.d.notifications.notify({ code: `schedule_${kind}`, message, once });
    this.d.log.warn(message, { scheduleId: row.id });
  }
}
