import { and, asc, desc, eq, gte, inArray, isNotNull, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { scheduleRuns, schedules } from "./schedules.sql.ts";
import type { When } from "./timing.ts";

export type ScheduleRow = typeof schedules.$inferSelect;
export type RunRow = typeof scheduleRuns.$inferSelect;
export type ScheduleKind = ScheduleRow["kind"];
export type RunStatus = RunRow["status"];

/** What a schedule runs, per kind. */
export type Action =
  | { kind: "agent"; prompt: string /** a named conversation; absent: the schedule's own */; conversationId?: string }
  | { kind: "job"; job: Record<string, unknown> }
  | { kind: "task"; task: Record<string, unknown> };

export interface RunLink {
  conversationId?: string;
  turnId?: string;
  jobId?: string;
  taskId?: string;
}

export const whenOf = (r: ScheduleRow) => r.when as When;
export const actionOf = (r: ScheduleRow) => r.action as Action;

/** The schedules' rows and their runs, in SQLite. */
export class ScheduleStore {
  constructor(private db: Db) {}

  insert(row: ScheduleRow): void {
    this.db.insert(schedules).values(row).run();
  }

  get(id: string): ScheduleRow | undefined {
    return this.db.select().from(schedules).where(eq(schedules.id, id)).get();
  }

  list(): ScheduleRow[] {
    return this.db.select().from(schedules).orderBy(asc(schedules.createdAt), asc(schedules.id)).all();
  }

  /** Id and next due time of every schedule that has one: all the timer needs at start. */
  due(): { id: string; nextDueAt: number }[] {
    return this.db
      .select({ id: schedules.id, nextDueAt: schedules.nextDueAt })
      .from(schedules)
      .where(and(isNotNull(schedules.nextDueAt), eq(schedules.paused, false)))
      .all() as { id: string; nextDueAt: number }[];
  }

  /** Schedules changed since `since` (by this core or another sharing the database). */
  changedSince(since: number): { id: string; nextDueAt: number | null; paused: boolean; updatedAt: number }[] {
    return this.db
      .select({ id: schedules.id, nextDueAt: schedules.nextDueAt, paused: schedules.paused, updatedAt: schedules.updatedAt })
      .from(schedules)
      .where(gte(schedules.updatedAt, since))
      .all();
  }

  update(id: string, set: Partial<ScheduleRow>): ScheduleRow | undefined {
    return this.db.update(schedules).set(set).where(eq(schedules.id, id)).returning().get();
  }

  /** Moves the cursor from `from` to `to`; false when someone else (another core, an edit) moved it first. */
  advance(id: string, from: number, to: number | null, now: number): boolean {
    const r = this.db
      .update(schedules)
      .set({ nextDueAt: to, updatedAt: now })
      .where(and(eq(schedules.id, id), eq(schedules.nextDueAt, from)))
      .returning({ id: schedules.id })
      .all();
    return r.length > 0;
  }

  delete(id: string): boolean {
    return this.db.delete(schedules).where(eq(schedules.id, id)).returning({ id: schedules.id }).all().length > 0;
  }

  countByCreator(createdBy: ScheduleRow["createdBy"]): number {
    return this.db.select({ n: sql<number>`count(*)` }).from(schedules).where(eq(schedules.createdBy, createdBy)).get()?.n ?? 0;
  }

  /** Adds a run; undefined when that due time already has one (another core took it). */
  addRun(row: RunRow): RunRow | undefined {
    return this.db.insert(scheduleRuns).values(row).onConflictDoNothing().returning().get();
  }

  updateRun(id: string, set: Partial<RunRow>): RunRow | undefined {
    return this.db.update(scheduleRuns).set(set).where(eq(scheduleRuns.id, id)).returning().get();
  }

  run(id: string): RunRow | undefined {
    return this.db.select().from(scheduleRuns).where(eq(scheduleRuns.id, id)).get();
  }

  runs(scheduleId: string, limit: number): RunRow[] {
    return this.db.select().from(scheduleRuns).where(eq(scheduleRuns.scheduleId, scheduleId)).orderBy(desc(scheduleRuns.dueAt), desc(scheduleRuns.id)).limit(limit).all();
  }

  /** The latest run of each of these schedules. */
  lastRuns(ids: string[]): Map<string, RunRow> {
    const out = new Map<string, RunRow>();
    if (!ids.length) return out;
    const rows = this.db
      .select()
      .from(scheduleRuns)
      .where(
        and(
          inArray(scheduleRuns.scheduleId, ids),
          sql`${scheduleRuns.id} = (select r.id from schedule_runs r where r.schedule_id = ${scheduleRuns.scheduleId} order by r.due_at desc, r.id desc limit 1)`,
        ),
      )
      .all();
    for (const r of rows) out.set(r.scheduleId, r);
    return out;
  }

  /** Runs left `running` or `queued` before `before` by a process that is gone: they end as failed. */
  abandon(before: number, now: number): number {
    return this.db
      .update(scheduleRuns)
      .set({ status: "failed", reason: "bakerst stopped before the run ended", endedAt: now })
      .where(and(inArray(scheduleRuns.status, ["running", "queued"]), lt(scheduleRuns.dueAt, before)))
      .returning({ id: scheduleRuns.id })
      .all().length;
  }

  /** Keeps the newest `keep` runs of a schedule. */
  trim(scheduleId: string, keep: number): void {
    this.db
      .delete(scheduleRuns)
      .where(
        and(
          eq(scheduleRuns.scheduleId, scheduleId),
          sql`${scheduleRuns.id} not in (select r.id from schedule_runs r where r.schedule_id = ${scheduleId} order by r.due_at desc, r.id desc limit ${keep})`,
        ),
      )
      .run();
  }
}
