import type { Database } from "bun:sqlite";
import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { isFinal, type JobSpec, type JobStatusMessage, type WireError } from "../protocol/index.ts";
import { jobStatuses, jobs } from "./jobs.sql.ts";

export type JobStatus = "queued" | "received" | "running" | "completed" | "failed";
export const JOB_STATUSES: JobStatus[] = ["queued", "received", "running", "completed", "failed"];
const RANK: Record<JobStatus, number> = { queued: 0, received: 1, running: 2, completed: 3, failed: 3 };

type Row = typeof jobs.$inferSelect;
export type JobRow = Row;

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
  /** Who dispatched it: web, api, or the origin of the turn whose tool did. */
  origin?: string;
  /** The trace of the request that dispatched it, to find it in logs. */
  traceId?: string;
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
    ...(r.origin ? { origin: r.origin } : {}),
    ...(r.traceId ? { traceId: r.traceId } : {}),
  };
}

/** A status as the tracker got it from the bus. */
export interface StatusArrival {
  m: JobStatusMessage;
  /** When the bus stored it, by the bus's clock: leases are measured with this, never with the sender's `at`. */
  storedAt: number;
}

/** `refused` says why a status was kept out: it came from a worker that does not hold the job. */
export type Applied = { known: boolean; applied: boolean; row?: Row; refused?: string };

/**
 * Whether a status may move the job. The first `received` (or `running`) of
 * a delivery claims the job for its worker; from then on only that worker's
 * statuses apply, until it has been silent for longer than the ack wait and
 * a later delivery's worker reports in.
 */
function standing(cur: Row, m: JobStatusMessage, storedAt: number, leaseMs: number): "holder" | "claim" | { refused: string } {
  if (cur.workerId === null) {
    return m.status === "received" || m.status === "running" ? "claim" : { refused: "no worker has reported receiving the job" };
  }
  if (m.workerId === cur.workerId) return "holder";
  const silentMs = storedAt - (cur.leaseAt ?? cur.updatedAt);
  if (m.attempt > cur.attempts && silentMs > leaseMs) return "claim";
  return { refused: `worker ${cur.workerId} holds the job (delivery ${cur.attempts}, heard ${silentMs} ms before)` };
}

export interface NewJob {
  id: string;
  spec: JobSpec;
  timeoutMs: number;
  deadlineAt: number;
  idempotencyKey?: string;
  conversationId?: string;
  origin?: string;
  traceId?: string;
  now: number;
}

const COLUMNS =
  "id, type, spec, status, result, error, idempotency_key, worker_id, attempts, lease_at, conversation_id, origin, trace_id, timeout_ms, deadline_at, published_at, created_at, updated_at";

interface RawRow {
  id: string;
  type: Row["type"];
  spec: string;
  status: Row["status"];
  result: string | null;
  error: string | null;
  idempotency_key: string | null;
  worker_id: string | null;
  attempts: number;
  lease_at: number | null;
  conversation_id: string | null;
  origin: string | null;
  trace_id: string | null;
  timeout_ms: number;
  deadline_at: number;
  published_at: number | null;
  created_at: number;
  updated_at: number;
}

const json = (v: string | null) => (v === null ? null : (JSON.parse(v) as unknown));

function fromRaw(r: RawRow): Row {
  return {
    id: r.id,
    type: r.type,
    spec: json(r.spec),
    status: r.status,
    result: json(r.result),
    error: json(r.error),
    idempotencyKey: r.idempotency_key,
    workerId: r.worker_id,
    attempts: r.attempts,
    leaseAt: r.lease_at,
    conversationId: r.conversation_id,
    origin: r.origin,
    traceId: r.trace_id,
    timeoutMs: r.timeout_ms,
    deadlineAt: r.deadline_at,
    publishedAt: r.published_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/**
 * Jobs in SQLite. The hot paths (create, apply, get) are prepared statements:
 * they run several times per job and drizzle's query building would dominate.
 */
export class JobStore {
  private q: ReturnType<typeof prepare>;

  constructor(
    private db: Db,
    private sqlite: Database,
  ) {
    this.q = prepare(sqlite);
  }

  /** Inserts the job; with an idempotency key already used, returns that job instead. */
  create(j: NewJob): { row: Row; created: boolean } {
    const { changes } = this.q.insert.run(
      j.id,
      j.spec.type,
      JSON.stringify(j.spec),
      j.idempotencyKey ?? null,
      j.conversationId ?? null,
      j.origin ?? null,
      j.traceId ?? null,
      j.timeoutMs,
      j.deadlineAt,
      j.now,
      j.now,
    );
    if (changes === 1) {
      // The row as inserted, built here rather than read back: this runs once per job.
      const row: Row = {
        id: j.id,
        type: j.spec.type,
        spec: j.spec,
        status: "queued",
        result: null,
        error: null,
        idempotencyKey: j.idempotencyKey ?? null,
        workerId: null,
        attempts: 0,
        leaseAt: null,
        conversationId: j.conversationId ?? null,
        origin: j.origin ?? null,
        traceId: j.traceId ?? null,
        timeoutMs: j.timeoutMs,
        deadlineAt: j.deadlineAt,
        publishedAt: null,
        createdAt: j.now,
        updatedAt: j.now,
      };
      return { row, created: true };
    }
    const existing = this.q.byKey.get(j.idempotencyKey ?? "") as RawRow | null;
    if (!existing) throw new Error("idempotency conflict without an existing job");
    return { row: fromRaw(existing), created: false };
  }

  /** Several creates in one transaction: one commit for the batch. */
  createMany(js: NewJob[]): { row: Row; created: boolean }[] {
    return this.sqlite.transaction(() => js.map((j) => this.create(j)))();
  }

  row(id: string): Row | undefined {
    const r = this.q.byId.get(id) as RawRow | null;
    return r ? fromRaw(r) : undefined;
  }

  get(id: string): JobView | undefined {
    const r = this.row(id);
    return r ? view(r) : undefined;
  }

  markPublished(ids: string[], at: number): void {
    if (ids.length === 1) this.q.published.run(at, ids[0]!);
    else this.sqlite.transaction(() => ids.forEach((id) => this.q.published.run(at, id)))();
  }

  /**
   * Records workers' statuses, in order, in one transaction (one commit for a
   * whole batch), and moves each job forward when the status is newer and
   * comes from the worker holding the job (see standing()). Duplicates, late
   * arrivals, statuses after a final one and statuses from other workers are
   * kept in the history but change nothing. `leaseMs` is the ack wait.
   */
  applyMany(arrivals: StatusArrival[], now: number, leaseMs: number): Applied[] {
    return this.sqlite.transaction(() => arrivals.map((a) => this.applyOne(a, now, leaseMs)))();
  }

  private applyOne({ m, storedAt }: StatusArrival, now: number, leaseMs: number): Applied {
    const raw = this.q.byId.get(m.jobId) as RawRow | null;
    if (!raw) return { known: false, applied: false };
    const cur = fromRaw(raw);
    const stand = isFinal(cur.status) ? undefined : standing(cur, m, storedAt, leaseMs);
    const ahead = RANK[m.status] > RANK[cur.status];
    const moves = stand === "claim" || (stand === "holder" && ahead);
    const inserted = this.q.insertStatus.run(m.jobId, m.status, m.workerId, m.attempt, m.at, moves ? 1 : 0).changes === 1;
    const leaseAt = Math.max(storedAt, cur.leaseAt ?? 0);
    if (!inserted || !moves) {
      // The holder repeating a status (a long job's lease renewal) keeps its lease alive.
      if (stand === "holder") this.q.renew.run(leaseAt, m.jobId);
      const refused = inserted && typeof stand === "object" ? stand.refused : undefined;
      return { known: true, applied: false, row: cur, ...(refused ? { refused } : {}) };
    }
    const final = isFinal(m.status);
    const row: Row = {
      ...cur,
      status: ahead ? m.status : cur.status,
      workerId: m.workerId,
      attempts: stand === "claim" ? m.attempt : Math.max(cur.attempts, m.attempt),
      leaseAt,
      updatedAt: Math.max(now, cur.updatedAt),
      ...(final ? { result: m.result ?? null, error: m.error ?? null } : {}),
    };
    this.q.advance.run(
      row.status,
      row.workerId,
      row.attempts,
      row.updatedAt,
      final ? 1 : 0,
      final && m.result !== undefined ? JSON.stringify(m.result) : null,
      final && m.error ? JSON.stringify(m.error) : null,
      m.jobId,
      leaseAt,
    );
    return { known: true, applied: true, row };
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

function prepare(db: Database) {
  return {
    insert: db.query(
      `INSERT INTO jobs (id, type, spec, status, idempotency_key, conversation_id, origin, trace_id, timeout_ms, deadline_at, created_at, updated_at, attempts)
       VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT(idempotency_key) DO NOTHING`,
    ),
    byId: db.query(`SELECT ${COLUMNS} FROM jobs WHERE id = ?`),
    byKey: db.query(`SELECT ${COLUMNS} FROM jobs WHERE idempotency_key = ?`),
    published: db.query("UPDATE jobs SET published_at = ? WHERE id = ?"),
    insertStatus: db.query("INSERT INTO job_statuses (job_id, status, worker_id, attempt, at, applied) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
    advance: db.query(
      `UPDATE jobs SET status = ?1, worker_id = ?2, attempts = ?3, updated_at = ?4, lease_at = ?9,
         result = CASE WHEN ?5 THEN ?6 ELSE result END, error = CASE WHEN ?5 THEN ?7 ELSE error END
       WHERE id = ?8`,
    ),
    renew: db.query("UPDATE jobs SET lease_at = ? WHERE id = ?"),
  };
}
