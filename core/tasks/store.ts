import type { Database, Statement } from "bun:sqlite";
import { and, asc, desc, eq, gt, inArray, lt } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import type { JobUsage, TaskMode, TaskMountSpec, TaskNetworkSpec, TaskTarget, WireError } from "../protocol/index.ts";
import { taskEvents, tasks } from "./tasks.sql.ts";

export const TASK_STATUSES = ["queued", "starting", "running", "succeeded", "failed", "cancelled", "timed_out"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const ENDED: ReadonlySet<TaskStatus> = new Set(["succeeded", "failed", "cancelled", "timed_out"]);
export const isEnded = (s: TaskStatus) => ENDED.has(s);

/** What a task asked for, after the checks (mounts resolved to real paths). */
export interface TaskRequestRecord {
  script?: string;
  goal?: string;
  mounts: TaskMountSpec[];
  network: TaskNetworkSpec;
  toolbox?: string;
  tokenBudget?: number;
}

export interface Approval {
  /** `write:<path>` per writable mount, `net:<host>` per allowed host. */
  scopes: string[];
  state: "pending" | "approved" | "preapproved";
  by?: string;
  at?: number;
}

type Row = typeof tasks.$inferSelect;
export type TaskRow = Row;

/** The public shape of a task (GET /api/tasks/:id). */
export interface TaskView {
  id: string;
  mode: TaskMode;
  target: TaskTarget;
  status: TaskStatus;
  script?: string;
  goal?: string;
  mounts: { path: string; source: string; writable: boolean }[];
  network: "none" | string[];
  toolbox?: string;
  timeoutMs: number;
  approval?: Approval;
  exitCode?: number;
  error?: WireError;
  answer?: string;
  output: string;
  outputBytes: number;
  usage?: JobUsage;
  origin?: string;
  actor: string;
  conversationId?: string;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
  updatedAt: number;
  /** Milliseconds from start to end (or to now while it runs). */
  durationMs?: number;
}

export function view(r: Row, now = Date.now()): TaskView {
  const req = r.request as TaskRequestRecord;
  return {
    id: r.id,
    mode: r.mode,
    target: r.target,
    status: r.status,
    ...(req.script !== undefined ? { script: req.script } : {}),
    ...(req.goal !== undefined ? { goal: req.goal } : {}),
    mounts: req.mounts.map((m) => ({ path: m.target, source: m.source, writable: m.writable })),
    network: req.network === "none" ? "none" : req.network.allow,
    ...(req.toolbox ? { toolbox: req.toolbox } : {}),
    timeoutMs: r.timeoutMs,
    ...(r.approval ? { approval: r.approval as Approval } : {}),
    ...(r.exitCode !== null ? { exitCode: r.exitCode } : {}),
    ...(r.error ? { error: r.error as WireError } : {}),
    ...(r.answer !== null ? { answer: r.answer } : {}),
    output: r.outputTail,
    outputBytes: r.outputBytes,
    ...(r.usage ? { usage: r.usage as JobUsage } : {}),
    ...(r.origin ? { origin: r.origin } : {}),
    actor: r.actor,
    ...(r.conversationId ? { conversationId: r.conversationId } : {}),
    createdAt: r.createdAt,
    ...(r.startedAt !== null ? { startedAt: r.startedAt } : {}),
    ...(r.endedAt !== null ? { endedAt: r.endedAt } : {}),
    updatedAt: r.updatedAt,
    ...(r.startedAt !== null ? { durationMs: (r.endedAt ?? now) - r.startedAt } : {}),
  };
}

export type TaskEventName = "progress" | "status" | "result";

export interface StoredEvent {
  id: number;
  at: number;
  event: TaskEventName;
  data: Record<string, unknown>;
}

export interface NewTask {
  id: string;
  mode: TaskMode;
  target: TaskTarget;
  request: TaskRequestRecord;
  timeoutMs: number;
  approval?: Approval;
  reportToken: string;
  origin?: string;
  actor: string;
  conversationId?: string;
  now: number;
}

export type TaskChange = Partial<Pick<Row, "status" | "exitCode" | "error" | "answer" | "outputTail" | "outputBytes" | "usage" | "approval" | "startedAt" | "endedAt">>;

/**
 * Tasks and their events in SQLite. Events are appended in batches (one
 * transaction per event-loop turn): a task that prints fast costs a commit per
 * batch, not per line.
 */
export class TaskStore {
  private insertEvent: Statement;
  private lastIds = new Map<string, number>();

  constructor(
    private db: Db,
    private sqlite: Database,
  ) {
    this.insertEvent = sqlite.prepare("INSERT INTO task_events (task_id, id, at, event, data) VALUES (?, ?, ?, ?, ?)");
  }

  create(t: NewTask): Row {
    const row = {
      id: t.id,
      mode: t.mode,
      target: t.target,
      status: "queued" as const,
      request: t.request,
      timeoutMs: t.timeoutMs,
      approval: t.approval ?? null,
      reportToken: t.reportToken,
      origin: t.origin ?? null,
      actor: t.actor,
      conversationId: t.conversationId ?? null,
      createdAt: t.now,
      updatedAt: t.now,
    };
    this.db.insert(tasks).values(row).run();
    return this.row(t.id)!;
  }

  row(id: string): Row | undefined {
    return this.db.select().from(tasks).where(eq(tasks.id, id)).get();
  }

  get(id: string): TaskView | undefined {
    const r = this.row(id);
    return r ? view(r) : undefined;
  }

  list(q: { limit: number; status?: TaskStatus; before?: number }): TaskView[] {
    const conds = [q.status ? eq(tasks.status, q.status) : undefined, q.before !== undefined ? lt(tasks.createdAt, q.before) : undefined].filter((c) => c !== undefined);
    const now = Date.now();
    return this.db
      .select()
      .from(tasks)
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(desc(tasks.createdAt), desc(tasks.id))
      .limit(q.limit)
      .all()
      .map((r) => view(r, now));
  }

  /** Approved tasks waiting for a slot, oldest first. */
  runnable(target: string, limit: number): Row[] {
    return this.db
      .select()
      .from(tasks)
      .where(and(eq(tasks.status, "queued"), eq(tasks.target, target as Row["target"])))
      .orderBy(asc(tasks.createdAt), asc(tasks.id))
      .limit(limit * 4)
      .all()
      .filter((r) => !r.approval || (r.approval as Approval).state !== "pending")
      .slice(0, limit);
  }

  /** Tasks a previous process left starting or running. */
  unfinished(): Row[] {
    return this.db
      .select()
      .from(tasks)
      .where(inArray(tasks.status, ["starting", "running"]))
      .all();
  }

  update(id: string, change: TaskChange, now: number): void {
    this.db
      .update(tasks)
      .set({ ...change, updatedAt: now })
      .where(eq(tasks.id, id))
      .run();
  }

  /** Appends events and applies task changes in one transaction. */
  write(batch: { taskId: string; at: number; event: TaskEventName; data: object }[], changes: Map<string, TaskChange>, now: number): StoredEvent[] {
    const stored: (StoredEvent & { taskId: string })[] = [];
    this.sqlite.transaction(() => {
      for (const e of batch) {
        const id = this.nextId(e.taskId);
        this.insertEvent.run(e.taskId, id, e.at, e.event, JSON.stringify(e.data));
        stored.push({ taskId: e.taskId, id, at: e.at, event: e.event, data: e.data as Record<string, unknown> });
      }
      for (const [id, change] of changes) this.update(id, change, now);
    })();
    // A result is a task's last event (its final status comes in the same batch): its counter can go.
    for (const e of batch) if (e.event === "result") this.lastIds.delete(e.taskId);
    return stored;
  }

  private nextId(taskId: string): number {
    let last = this.lastIds.get(taskId);
    if (last === undefined) {
      const r = this.sqlite.query<{ m: number | null }, [string]>("SELECT max(id) AS m FROM task_events WHERE task_id = ?").get(taskId);
      last = r?.m ?? 0;
    }
    this.lastIds.set(taskId, last + 1);
    return last + 1;
  }

  /** The highest runner sequence number kept for a task: a runner's reports up to it are already here. */
  lastReportSeq(taskId: string): number {
    const r = this.sqlite
      .query<{ m: number | null }, [string]>("SELECT max(json_extract(data, '$.seq')) AS m FROM task_events WHERE task_id = ? AND event = 'progress'")
      .get(taskId);
    return r?.m ?? 0;
  }

  events(taskId: string, after: number, limit = 500): StoredEvent[] {
    return this.db
      .select()
      .from(taskEvents)
      .where(and(eq(taskEvents.taskId, taskId), gt(taskEvents.id, after)))
      .orderBy(asc(taskEvents.id))
      .limit(limit)
      .all()
      .map((e) => ({ id: e.id, at: e.at, event: e.event, data: e.data as Record<string, unknown> }));
  }

  counts(): Record<string, number> {
    const rows = this.sqlite.query<{ status: string; n: number }, []>("SELECT status, count(*) AS n FROM tasks GROUP BY status").all();
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }
}
