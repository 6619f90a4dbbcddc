import { EventEmitter } from "node:events";
import type { JobUsage, TaskProgress, WireError } from "../protocol/index.ts";
import type { Logger } from "../telemetry/log.ts";
import type { TaskChange, TaskEventName, TaskStatus, TaskStore } from "./store.ts";

/** What a `progress` event of GET /api/tasks/:id/events carries: the runner's report without its envelope. */
export type ProgressData = Omit<TaskProgress, "v" | "type" | "taskId" | "token">;

/** What the `result` event carries. */
export interface ResultData {
  status: TaskStatus;
  exitCode: number | null;
  error?: WireError;
  answer?: string;
  usage?: JobUsage;
}

export interface StatusEvent {
  id: string;
  status: TaskStatus;
}

/**
 * Where a task's events and row changes are written, and who hears of them.
 * Output is appended in batches (one transaction per event-loop turn);
 * statuses and results are written at once, after whatever output came before
 * them. Listeners hear `task:<id>` after each commit that touched the task and
 * `status` for every status change.
 */
export class TaskJournal {
  readonly changes = new EventEmitter();
  private batch: { taskId: string; at: number; event: TaskEventName; data: object }[] = [];
  private pending = new Map<string, TaskChange>();
  private scheduled = false;

  constructor(
    private store: TaskStore,
    private log: Logger,
    private now: () => number,
  ) {
    this.changes.setMaxListeners(0);
  }

  /** Output and tool calls: queued for the next batch. */
  progress(taskId: string, data: ProgressData, change: TaskChange): void {
    this.batch.push({ taskId, at: this.now(), event: "progress", data });
    this.change(taskId, change);
  }

  /** A row change without an event (output past the cap): written with the next batch. */
  change(taskId: string, change: TaskChange): void {
    this.pending.set(taskId, { ...this.pending.get(taskId), ...change });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  status(taskId: string, status: TaskStatus, data: Record<string, unknown> = {}, change: TaskChange = {}): void {
    this.batch.push({ taskId, at: this.now(), event: "status", data: { status, ...data } });
    this.pending.set(taskId, { ...this.pending.get(taskId), ...change, status });
    this.flush();
    this.changes.emit("status", { id: taskId, status } satisfies StatusEvent);
  }

  result(taskId: string, data: ResultData, status: TaskStatus, change: TaskChange): void {
    this.batch.push({ taskId, at: this.now(), event: "result", data });
    this.status(taskId, status, {}, change);
  }

  flush(): void {
    this.scheduled = false;
    if (!this.batch.length && !this.pending.size) return;
    const batch = this.batch.splice(0);
    const changes = new Map(this.pending);
    this.pending.clear();
    const touched = new Set([...batch.map((b) => b.taskId), ...changes.keys()]);
    try {
      this.store.write(batch, changes, this.now());
    } catch (err) {
      this.log.error("could not store task events", { count: batch.length, error: (err as Error).message });
      return;
    }
    for (const id of touched) this.changes.emit(`task:${id}`);
  }

  /** Resolves at the next commit touching the task, or when `signal` aborts, or after `ms`. */
  next(taskId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.changes.off(`task:${taskId}`, done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.changes.once(`task:${taskId}`, done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
