/**
 * The companion's memory across link cuts and restarts, one SQLite file in
 * its state dir: every report goes here before it goes anywhere, and leaves
 * only when the core has acknowledged it, so a result written while NATS was
 * away is delivered, in order, when it is back. Tasks it accepted are here
 * too: a redelivered task is not run twice, a task waiting for a slot
 * survives a restart, and one that was running when the process died is
 * reported failed instead of hanging.
 */
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { subjects, type TaskReport, type TaskRunSpec } from "../../core/protocol/index.ts";

export interface SpoolRow {
  seq: number;
  taskId: string;
  subject: string;
  report: TaskReport;
}

export type TaskState = "pending" | "running" | "done";

export interface SpoolStats {
  pending: number;
  max: number;
  full: boolean;
  dropped: number;
}

export class Spool {
  readonly db: Database;
  #dropped = 0;
  #fullTasks = new Set<string>();

  constructor(
    dir: string,
    /** Most reports kept; past it progress is dropped (and counted), results are always kept. */
    readonly max: number,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.db = new Database(join(dir, "spool.db"), { create: true, strict: true });
    this.db.run("PRAGMA journal_mode = WAL");
    this.db.run("PRAGMA synchronous = NORMAL");
    this.db.run("CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, subject TEXT NOT NULL, report TEXT NOT NULL)");
    this.db.run(
      "CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, state TEXT NOT NULL, spec TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0, has_result INTEGER NOT NULL DEFAULT 0, at INTEGER NOT NULL)",
    );
  }

  get size(): number {
    return (this.db.query("SELECT count(*) AS n FROM outbox").get() as { n: number }).n;
  }

  stats(): SpoolStats {
    const pending = this.size;
    return { pending, max: this.max, full: pending >= this.max, dropped: this.#dropped };
  }

  /** Keeps a report. Returns false when it was progress dropped because the spool is full. */
  add(r: TaskReport): boolean {
    const subject = r.type === "result" ? subjects.taskResult(r.taskId) : subjects.taskProgress(r.taskId);
    if (r.type === "progress" && this.size >= this.max) {
      this.#dropped++;
      this.#fullTasks.add(r.taskId);
      return false;
    }
    this.db.transaction(() => {
      this.db.query("INSERT INTO outbox (task_id, subject, report) VALUES (?, ?, ?)").run(r.taskId, subject, JSON.stringify(r));
      this.db.query("UPDATE tasks SET last_seq = max(last_seq, ?), has_result = has_result OR ? WHERE id = ?").run(r.seq, r.type === "result" ? 1 : 0, r.taskId);
    })();
    return true;
  }

  /** Whether progress of this task was dropped because the spool was full (said once in its result). */
  droppedFor(taskId: string): boolean {
    return this.#fullTasks.delete(taskId);
  }

  /** The oldest reports not yet acknowledged, in the order they were written. */
  peek(limit = 1): SpoolRow[] {
    const rows = this.db.query("SELECT seq, task_id, subject, report FROM outbox ORDER BY seq LIMIT ?").all(limit) as {
      seq: number;
      task_id: string;
      subject: string;
      report: string;
    }[];
    return rows.map((r) => ({ seq: r.seq, taskId: r.task_id, subject: r.subject, report: JSON.parse(r.report) as TaskReport }));
  }

  remove(seq: number): void {
    this.db.query("DELETE FROM outbox WHERE seq = ?").run(seq);
  }

  /** Records a task as accepted; false when it was already (a redelivery). */
  accept(spec: TaskRunSpec, now = Date.now()): boolean {
    return this.db.query("INSERT OR IGNORE INTO tasks (id, state, spec, at) VALUES (?, 'pending', ?, ?)").run(spec.id, JSON.stringify(spec), now).changes === 1;
  }

  setState(id: string, state: TaskState, now = Date.now()): void {
    this.db.query("UPDATE tasks SET state = ?, at = ? WHERE id = ?").run(state, now, id);
  }

  task(id: string): { state: TaskState; spec: TaskRunSpec; lastSeq: number; hasResult: boolean } | undefined {
    const r = this.db.query("SELECT state, spec, last_seq, has_result FROM tasks WHERE id = ?").get(id) as {
      state: TaskState;
      spec: string;
      last_seq: number;
      has_result: number;
    } | null;
    return r ? { state: r.state, spec: JSON.parse(r.spec) as TaskRunSpec, lastSeq: r.last_seq, hasResult: r.has_result === 1 } : undefined;
  }

  /** Tasks in a state, oldest first. */
  tasks(state: TaskState): TaskRunSpec[] {
    return (this.db.query("SELECT spec FROM tasks WHERE state = ? ORDER BY at, id").all(state) as { spec: string }[]).map((r) => JSON.parse(r.spec) as TaskRunSpec);
  }

  /** Forgets finished tasks older than `ageMs` (kept that long so a late redelivery is still recognised). */
  prune(ageMs: number, now = Date.now()): void {
    this.db.query("DELETE FROM tasks WHERE state = 'done' AND at < ?").run(now - ageMs);
  }

  close(): void {
    this.db.close();
  }
}
