import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { isFinal, type JobSpec, type JobStatusMessage, type WireError } from "../protocol/index.ts";
import { jobs, jobStatuses } from "./jobs.sql.ts";

export type JobStatus = "queued" | "received" | "running" | "completed" | "failed";
export const JOB_STATUSES: JobStatus[] = ["queued", "received", "running", "completed", "failed"];
const RANK: Record<JobStatus, number> = { queued: 0, received: 1, running: 2, completed: 3, failed: 3 };

type Row = typeof jobs.$inferSelect;

/** The public shape of a job (GET /api/jobs/:id). */
export interface JobView {
  id: string;
  type: JobSpec["type"];
  status: JobStatus;
  result?: unknown;
  error?: WireError;
  createdAt: number;
  updatedAt: number;
  spec: JobSpec;
  workerId?: string;
  attempts: number;
  timeoutMs: number;
  conversationId?: string;
}

export function view(r: Row): JobView {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    ...(r.result !== null && r.result !== undefined ? { result: r.result } : {}),
    ...(r.error ? { error: r.error as WireError } : {}),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    spec: r.spec as JobSpec,
    ...(r.workerId ? { workerId: r.workerId } : {}),
    attempts: r.attempts,
    timeoutMs: r.timeoutMs,
    ...(r.conversationId ? { conversationId: r.conversationId } : {}),
  };
}

export interface NewJob {
  id: string;
  spec: JobSpec;
  timeoutMs: number;
  deadlineAt: number;
  idempotencyKey?: string;
  conversationId?: string;
  traceId?: string;
  now: number;
}

export class JobStore {
  constructor(private db: Db) {}

  /** Inserts the job; with an idempotency key already used, returns that job instead. */
  create(j: NewJob): { row: Row; created: boolean } {
    const inserted = this.db
      .insert(jobs)
      .values({
        id: j.id,
        type: j.spec.type,
        spec: j.spec,
        status: "queued",
        idempotencyKey: j.idempotencyKey ?? null,
        conversationId: j.conversationId ?? null,
        traceId: j.traceId ?? null,
        timeoutMs: j.timeoutMs,
        deadlineAt: j.deadlineAt,
        createdAt: j.now,
        updatedAt: j.now,
      })
      .onConflictDoNothing({ target: jobs.idempotencyKey })
      .returning()
      .get();
    if (inserted) return { row: inserted, created: true };
    const existing = this.db.select().from(jobs).where(eq(jobs.idempotencyKey, j.idempotencyKey!)).get();
    if (!existing) throw new Error("idempotency conflict without an existing job");
    return { row: existing, created: false };
  }

  row(id: string): Row | undefined {
    return this.db.select().from(jobs).where(eq(jobs.id, id)).get();
  }

  get(id: string): JobView | undefined {
    const r = this.row(id);
    return r ? view(r) : undefined;
  }

  list(q: { limit: number; status?: JobStatus; type?: JobSpec["type"]; before?: number }): JobView[] {
    const where = and(
      q.status ? eq(jobs.status, q.status) : undefined,
      q.type ? eq(jobs.type, q.type) : undefined,
      q.before !== undefined ? lt(jobs.createdAt, q.before) : undefined,
    );
    return this.db.select().from(jobs).where(where).orderBy(desc(jobs.createdAt), desc(jobs.id)).limit(q.limit).all().map(view);
  }

  history(id: string) {
    return this.db.select().from(jobStatuses).where(eq(jobStatuses.jobId, id)).orderBy(jobStatuses.id).all();
  }

  markPublished(id: string, at: number): void {
    this.db.update(jobs).set({ publishedAt: at }).where(eq(jobs.id, id)).run();
  }

  /** Jobs in SQLite the bus never confirmed, oldest first (the outbox). */
  unpublished(olderThan: number, limit = 200): Row[] {
    return this.db
      .select()
      .from(jobs)
      .where(and(sql`${jobs.publishedAt} IS NULL`, eq(jobs.status, "queued"), lt(jobs.createdAt, olderThan)))
      .orderBy(jobs.createdAt)
      .limit(limit)
      .all();
  }

  /**
   * Records a worker's status and moves the job forward when it is newer.
   * Duplicates, late arrivals and statuses after a final one are kept in the
   * history but change nothing.
   */
  apply(m: JobStatusMessage, now: number): { known: boolean; applied: boolean; row?: Row } {
    return this.db.transaction((tx) => {
      const cur = tx.select().from(jobs).where(eq(jobs.id, m.jobId)).get();
      if (!cur) return { known: false, applied: false };
      const forward = !isFinal(cur.status) && RANK[m.status] > RANK[cur.status];
      const inserted = tx
        .insert(jobStatuses)
        .values({ jobId: m.jobId, status: m.status, workerId: m.workerId, attempt: m.attempt, at: m.at, applied: forward })
        .onConflictDoNothing()
        .returning({ id: jobStatuses.id })
        .get();
      if (!inserted || !forward) return { known: true, applied: false, row: cur };
      const row = tx
        .update(jobs)
        .set({
          status: m.status,
          workerId: m.workerId,
          attempts: Math.max(cur.attempts, m.attempt),
          updatedAt: Math.max(now, cur.updatedAt),
          ...(isFinal(m.status) ? { result: m.result ?? null, error: m.error ?? null } : {}),
        })
        .where(eq(jobs.id, m.jobId))
        .returning()
        .get();
      return { known: true, applied: true, row };
    });
  }

  /** Fails every unfinished job past its deadline; returns them. */
  reap(now: number): Row[] {
    const expired = this.db
      .select()
      .from(jobs)
      .where(and(inArray(jobs.status, ["queued", "received", "running"]), lt(jobs.deadlineAt, now)))
      .all();
    const out: Row[] = [];
    for (const r of expired) {
      const error: WireError = {
        code: "deadline",
        message: `no final status by the deadline (timeout ${r.timeoutMs} ms plus grace); last status was ${r.status}${r.workerId ? ` on worker ${r.workerId}` : ""}`,
      };
      const row = this.db
        .update(jobs)
        .set({ status: "failed", error, updatedAt: now })
        .where(and(eq(jobs.id, r.id), inArray(jobs.status, ["queued", "received", "running"])))
        .returning()
        .get();
      if (row) out.push(row);
    }
    return out;
  }

  counts(): Record<JobStatus, number> {
    const rows = this.db.select({ status: jobs.status, n: sql<number>`count(*)` }).from(jobs).groupBy(jobs.status).all();
    const out = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    for (const r of rows) out[r.status] = r.n;
    return out;
  }
}
