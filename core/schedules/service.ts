/**
 * Schedules as the API, the agent's tools and the console see them: create,
 * edit, pause, resume, delete and run now, each checked here; the timer
 * (scheduler.ts) is told of every change. The agent's schedules are marked,
 * counted against SCHEDULE_AGENT_MAX, may not fire more often than
 * SCHEDULE_AGENT_MIN_INTERVAL_S, and the agent may change only its own.
 */
import type { AuditEvent, AuditLog } from "../audit/service.ts";
import { AppError, notFound } from "../errors.ts";
import { newId } from "../util/ids.ts";
import type { Alert } from "./deadman.ts";
import type { SchedulesSettings } from "./keys.ts";
import { checkShape, invalidSchedule, type ParsedSchedule, PreviewRequest, parseScheduleRequest, zoneOf } from "./request.ts";
import { type Clock, type Scheduler, timingOf } from "./scheduler.ts";
import { actionOf, type RunLink, type RunRow, type ScheduleRow, type ScheduleStore, whenOf } from "./store.ts";
import { localTime, Timing, TimingError, type When } from "./timing.ts";

/** Who is asking: the console (`web`), a bearer token (`api`) or the agent (a tool call). */
export interface Requester {
  actor: "web" | "api" | "agent";
  address?: string;
  conversationId?: string;
}

export interface RunView {
  id: string;
  dueAt: number;
  trigger: RunRow["trigger"];
  status: RunRow["status"];
  reason?: string;
  caughtUp: boolean;
  startedAt?: number;
  endedAt?: number;
  link?: RunLink;
  costUsd?: number;
}

/** The public shape of a schedule (GET /api/schedules). */
export interface ScheduleView {
  id: string;
  name: string;
  when: When;
  timeZone: string;
  kind: ScheduleRow["kind"];
  prompt?: string;
  conversationId?: string;
  job?: Record<string, unknown>;
  task?: Record<string, unknown>;
  overlap: ScheduleRow["overlap"];
  catchUp: ScheduleRow["catchUp"];
  paused: boolean;
  createdBy: ScheduleRow["createdBy"];
  /** Null when nothing is due any more (a one-shot that ran) or while paused. */
  nextRunAt: number | null;
  /** The next run as it reads in the schedule's zone. */
  nextRunLocal: string | null;
  consecutiveFailures: number;
  running: boolean;
  lastRun?: RunView;
  alert?: Alert;
  createdAt: number;
  updatedAt: number;
}

export const runView = (r: RunRow): RunView => ({
  id: r.id,
  dueAt: r.dueAt,
  trigger: r.trigger,
  status: r.status,
  ...(r.reason ? { reason: r.reason } : {}),
  caughtUp: r.caughtUp,
  ...(r.startedAt !== null ? { startedAt: r.startedAt } : {}),
  ...(r.endedAt !== null ? { endedAt: r.endedAt } : {}),
  ...(r.link ? { link: r.link as RunLink } : {}),
  ...(r.costUsd !== null ? { costUsd: r.costUsd } : {}),
});

export interface ScheduleServiceDeps {
  store: ScheduleStore;
  scheduler: Scheduler;
  settings: SchedulesSettings;
  /** SCHEDULE_TIME_ZONE, or the machine's. */
  defaultZone: string;
  audit: AuditLog;
  clock: Clock;
  conversationExists(id: string): boolean;
}

/** The columns a request sets, the same when a schedule is made (POST) and replaced (PUT). */
const columns = (p: ParsedSchedule) => ({
  name: p.name,
  when: p.when,
  timeZone: p.timeZone,
  kind: p.action.kind,
  action: p.action,
  overlap: p.overlap,
  catchUp: p.catchUp,
  paused: p.paused,
});

export class ScheduleService {
  constructor(private d: ScheduleServiceDeps) {}

  get defaultZone(): string {
    return this.d.defaultZone;
  }

  private audit(e: Omit<AuditEvent, "actor" | "address">, who: Requester): void {
    this.d.audit.record({ ...e, actor: who.actor, ...(who.address ? { address: who.address } : {}) });
  }

  private timing(p: Pick<ParsedSchedule, "when" | "timeZone">, anchor: number): Timing {
    try {
      return new Timing(p.when, p.timeZone, anchor);
    } catch (err) {
      if (err instanceof TimingError) throw invalidSchedule(err.message);
      throw err;
    }
  }

  /** Checks a request in full and works out its first due time. An interval's anchor is fixed here, so a restart does not move it. */
  private prepare(raw: unknown, who: Requester, now: number, existing?: ScheduleRow): { p: ParsedSchedule; next: number | null } {
    const p = parseScheduleRequest(raw, this.d.defaultZone);
    if ("every" in p.when && p.when.from === undefined) {
      const keep = existing && "every" in whenOf(existing) ? (whenOf(existing) as { from?: string }).from : undefined;
      p.when = { every: p.when.every, from: keep ?? new Date(now).toISOString() };
    }
    const timing = this.timing(p, now);
    const next = timing.next(now) ?? null;
    if ("cron" in p.when && next === null) throw invalidSchedule(`when.cron: ${p.when.cron} never comes (e.g. the 30th of February)`);
    if ("at" in p.when && next === null && !existing) throw invalidSchedule(`when.at: ${p.when.at} is in the past (${localTime(timing.next(0) ?? 0, p.timeZone)})`);
    if (p.action.kind === "agent" && p.action.conversationId && !this.d.conversationExists(p.action.conversationId)) {
      throw invalidSchedule(`conversationId: conversation ${p.action.conversationId} not found`);
    }
    if (who.actor === "agent") {
      const min = this.d.settings.SCHEDULE_AGENT_MIN_INTERVAL_S * 1000;
      if (timing.shortestGap(now) < min) {
        throw new AppError(
          "schedule_limit",
          `when: a schedule the agent makes may fire at most once every ${this.d.settings.SCHEDULE_AGENT_MIN_INTERVAL_S} s (SCHEDULE_AGENT_MIN_INTERVAL_S); ask the owner for a tighter one`,
        );
      }
    }
    return { p, next };
  }

  create(raw: unknown, who: Requester): ScheduleView {
    const now = this.d.clock.now();
    try {
      const { p, next } = this.prepare(raw, who, now);
      if (who.actor === "agent" && this.d.store.countByCreator("agent") >= this.d.settings.SCHEDULE_AGENT_MAX) {
        throw new AppError("schedule_limit", `the agent has ${this.d.settings.SCHEDULE_AGENT_MAX} schedules already (SCHEDULE_AGENT_MAX); delete one first or ask the owner`);
      }
      const row: ScheduleRow = {
        id: newId(),
        ...columns(p),
        createdBy: who.actor === "agent" ? "agent" : "owner",
        conversationId: null,
        nextDueAt: next,
        consecutiveFailures: 0,
        createdAt: now,
        updatedAt: now,
      };
      this.d.store.insert(row);
      this.audit({ action: "schedule.created", outcome: "ok", target: row.id, detail: { kind: row.kind, createdBy: row.createdBy, when: whenKind(row.when as When) } }, who);
      if (!row.paused) this.d.scheduler.reschedule(row.id, next);
      return this.view(row);
    } catch (err) {
      if (err instanceof AppError) this.audit({ action: "schedule.created", outcome: "refused", detail: { code: err.code } }, who);
      throw err;
    }
  }

  /** Replaces what a schedule is (PUT): the next due time is worked out from now, with no catch-up for the old timing. */
  replace(id: string, raw: unknown, who: Requester): ScheduleView {
    const row = this.owned(id, who);
    const now = this.d.clock.now();
    const { p, next } = this.prepare(raw, who, now, row);
    const sameAgentTarget = row.kind === "agent" && p.action.kind === "agent" && !p.action.conversationId;
    const updated = this.d.store.update(id, {
      ...columns(p),
      nextDueAt: next,
      conversationId: sameAgentTarget ? row.conversationId : null,
      updatedAt: now,
    })!;
    this.d.scheduler.reschedule(id, updated.paused ? null : next);
    return this.view(updated);
  }

  pause(id: string, who: Requester): ScheduleView {
    this.owned(id, who);
    const updated = this.d.store.update(id, { paused: true, updatedAt: this.d.clock.now() })!;
    this.d.scheduler.reschedule(id, null);
    return this.view(updated);
  }

  /** Resumes from now: due times that passed while paused are not caught up. */
  resume(id: string, who: Requester): ScheduleView {
    const row = this.owned(id, who);
    const now = this.d.clock.now();
    const next = timingOf(row).next(now) ?? null;
    const updated = this.d.store.update(id, { paused: false, nextDueAt: next, updatedAt: now })!;
    this.d.scheduler.reschedule(id, next);
    return this.view(updated);
  }

  delete(id: string, who: Requester): { deleted: true } {
    const row = this.owned(id, who);
    this.d.store.delete(id);
    this.d.scheduler.forget(id);
    this.audit({ action: "schedule.deleted", outcome: "ok", target: id, detail: { kind: row.kind, createdBy: row.createdBy } }, who);
    return { deleted: true };
  }

  runNow(id: string, who: Requester): RunView {
    const row = this.owned(id, who);
    const run = this.d.scheduler.runNow(row);
    if (!run) throw new AppError("internal", `schedule ${id} could not be started now; try again`);
    return runView(this.d.store.run(run.id) ?? run);
  }

  get(id: string): ScheduleView | undefined {
    const row = this.d.store.get(id);
    return row ? this.view(row) : undefined;
  }

  list(filter: { createdBy?: ScheduleRow["createdBy"] } = {}): ScheduleView[] {
    const rows = this.d.store.list().filter((r) => !filter.createdBy || r.createdBy === filter.createdBy);
    const last = this.d.store.lastRuns(rows.map((r) => r.id));
    return rows.map((r) => this.view(r, last.get(r.id) ?? null));
  }

  runs(id: string, limit: number): RunView[] {
    if (!this.d.store.get(id)) throw notFound("schedule", id);
    return this.d.store.runs(id, limit).map(runView);
  }

  /** The next due times of a `when` in a zone, before saving it. */
  preview(raw: unknown): { timeZone: string; next: { at: number; local: string }[] } {
    const b = checkShape<{ when: When; timeZone?: string; count?: number }>(PreviewRequest, raw, "when, timeZone?, count?");
    const timeZone = zoneOf(b.timeZone, this.d.defaultZone);
    const now = this.d.clock.now();
    const times = this.timing({ when: b.when, timeZone }, now).upcoming(now, b.count ?? 5);
    return { timeZone, next: times.map((at) => ({ at, local: localTime(at, timeZone) })) };
  }

  /** The schedule, if the requester may change it: the owner any, the agent only its own. */
  private owned(id: string, who: Requester): ScheduleRow {
    const row = this.d.store.get(id);
    if (!row) throw notFound("schedule", id);
    if (who.actor === "agent" && row.createdBy !== "agent") {
      this.audit({ action: "schedule.deleted", outcome: "refused", target: id, detail: { code: "schedule_limit", createdBy: row.createdBy } }, who);
      throw new AppError("schedule_limit", `schedule ${id} is the owner's; the agent may change only the schedules it made`);
    }
    return row;
  }

  private view(row: ScheduleRow, last: RunRow | null = this.d.store.runs(row.id, 1)[0] ?? null): ScheduleView {
    const a = actionOf(row);
    const next = row.paused ? null : row.nextDueAt;
    const alert = this.d.scheduler.alertFor(row.id);
    return {
      id: row.id,
      name: row.name,
      when: row.when as When,
      timeZone: row.timeZone,
      kind: row.kind,
      ...(a.kind === "agent" ? { prompt: a.prompt, ...((a.conversationId ?? row.conversationId) ? { conversationId: a.conversationId ?? row.conversationId! } : {}) } : {}),
      ...(a.kind === "job" ? { job: a.job } : {}),
      ...(a.kind === "task" ? { task: a.task } : {}),
      overlap: row.overlap,
      catchUp: row.catchUp,
      paused: row.paused,
      createdBy: row.createdBy,
      nextRunAt: next,
      nextRunLocal: next === null ? null : localTime(next, row.timeZone),
      consecutiveFailures: row.consecutiveFailures,
      running: this.d.scheduler.isRunning(row.id),
      ...(last ? { lastRun: runView(last) } : {}),
      ...(alert ? { alert } : {}),
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }
}

const whenKind = (w: When) => ("cron" in w ? "cron" : "at" in w ? "at" : "every");
