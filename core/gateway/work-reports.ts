import type { Db } from "../db/client.ts";
import type { JobEvent, JobService } from "../jobs/service.ts";
import type { JobView } from "../jobs/store.ts";
import type { StatusEvent } from "../tasks/journal.ts";
import type { TaskService } from "../tasks/service.ts";
import { isEnded, type TaskView } from "../tasks/store.ts";
import type { Logger } from "../telemetry/log.ts";
import { escapeMarkdown } from "./format/render.ts";
import type { Outbox } from "./outbox.ts";

export type WorkKind = "job" | "task";

const FINAL_JOB = new Set(["completed", "failed"]);
const PREVIEW_CHARS = 1500;

/** Text as a code block that no backticks inside can close. */
function block(text: string): string {
  return `\`\`\`\n${text.replace(/```/g, "``\u200b`")}\n\`\`\``;
}

/** What the chat is told when a job it started ends. */
export function jobReport(job: JobView): string {
  const name = `${job.type} job ${job.id.slice(-8)}`;
  if (job.status === "failed") return `❌ The ${escapeMarkdown(name)} failed: ${escapeMarkdown(job.error?.message ?? "no reason given")}`;
  const r = job.result as Record<string, unknown> | string | undefined;
  let body = "";
  if (typeof r === "string") body = r;
  else if (r && typeof r.stdout === "string") body = r.stdout;
  else if (r && typeof r.text === "string") body = r.text;
  else if (r && typeof r.status === "number") body = `HTTP ${r.status}`;
  else if (r !== undefined) body = JSON.stringify(r);
  body = body.trim();
  if (body.length > PREVIEW_CHARS) body = `${body.slice(0, PREVIEW_CHARS)}\n…`;
  return body ? `✅ The ${escapeMarkdown(name)} finished:\n\n${block(body)}` : `✅ The ${escapeMarkdown(name)} finished.`;
}

const TASK_ENDS: Record<string, [string, string]> = {
  succeeded: ["✅", "finished"],
  failed: ["❌", "failed"],
  cancelled: ["⏹️", "was cancelled"],
  timed_out: ["⏱️", "timed out"],
};

/** What the chat is told when a task it started ends: the agent's answer, or the end of the script's output. */
export function taskReport(task: TaskView): string {
  const [mark, verb] = TASK_ENDS[task.status] ?? ["ℹ️", task.status];
  const exit = task.mode === "script" && task.exitCode !== undefined && task.status !== "succeeded" ? ` (exit ${task.exitCode})` : "";
  const head = `${mark} The ${task.mode} task ${task.id.slice(-8)} ${verb}${exit}`;
  const reason = task.status === "succeeded" ? "" : (task.error?.message ?? "");
  // The tail of the output is what a script says last (its summary or its error); an agent's answer is read from the start.
  let body = (task.answer ?? task.output).trim();
  if (body.length > PREVIEW_CHARS) body = task.answer ? `${body.slice(0, PREVIEW_CHARS)}\n…` : `…\n${body.slice(-PREVIEW_CHARS)}`;
  const text = `${escapeMarkdown(head)}${reason ? `: ${escapeMarkdown(reason)}` : body ? ":" : "."}`;
  if (!body) return text;
  return task.answer ? `${text}\n\n${escapeMarkdown(body)}` : `${text}\n\n${block(body)}`;
}

/**
 * Jobs and tasks a chat's turn started and did not see finish: when one ends,
 * the chat that started it is told, once (the watch and the outbox row share
 * a transaction; at start-up the ones that ended while the core was down are
 * told).
 */
export class WorkReports {
  private onJob = (ev: JobEvent) => {
    if (FINAL_JOB.has(ev.status)) void this.report(ev.id);
  };
  private onTask = (ev: StatusEvent) => {
    if (isEnded(ev.status)) void this.report(ev.id);
  };

  constructor(private deps: { db: Db; outbox: Outbox; jobs: JobService; tasks?: TaskService; log: Logger }) {}

  /** Inside the turn's final transaction: the work the turn saw, with the last status it saw. */
  watch(chatKey: string, work: Map<string, { kind: WorkKind; status: string }>): void {
    const insert = this.deps.db.$client.query("INSERT INTO gateway_job_watch (job_id, kind, chat_key, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING");
    let any = false;
    for (const [id, { kind, status }] of work) {
      if (kind === "job" ? FINAL_JOB.has(status) : isEnded(status as TaskView["status"])) continue;
      if (kind === "task" && !this.deps.tasks) continue;
      insert.run(id, kind, chatKey, Date.now());
      any = true;
    }
    // Work that ended between its last event and this watch is reported now.
    if (any)
      queueMicrotask(() => {
        for (const id of work.keys()) void this.report(id);
      });
  }

  start(): void {
    this.deps.jobs.events.on("job", this.onJob);
    this.deps.tasks?.journal.changes.on("status", this.onTask);
    const open = this.deps.db.$client.query("SELECT job_id AS id FROM gateway_job_watch WHERE reported_at IS NULL").all() as { id: string }[];
    for (const { id } of open) void this.report(id);
  }

  stop(): void {
    this.deps.jobs.events.off("job", this.onJob);
    this.deps.tasks?.journal.changes.off("status", this.onTask);
  }

  /** The report for a job or task that has ended; undefined while it runs (or when it is gone). */
  private async ended(id: string, kind: WorkKind): Promise<string | undefined> {
    if (kind === "task") {
      const task = this.deps.tasks?.get(id);
      return task && isEnded(task.status) ? taskReport(task) : undefined;
    }
    // waitFor with no time to wait is the job as it is now.
    const job = await this.deps.jobs.waitFor(id, 0);
    return job && FINAL_JOB.has(job.status) ? jobReport(job) : undefined;
  }

  private async report(id: string): Promise<void> {
    const c = this.deps.db.$client;
    const watch = c.query("SELECT chat_key AS chatKey, kind FROM gateway_job_watch WHERE job_id = ? AND reported_at IS NULL").get(id) as { chatKey: string; kind: WorkKind } | null;
    if (!watch) return;
    try {
      const text = await this.ended(id, watch.kind);
      if (!text) return;
      c.transaction(() => {
        const claimed = c.query("UPDATE gateway_job_watch SET reported_at = ? WHERE job_id = ? AND reported_at IS NULL").run(Date.now(), id).changes;
        if (claimed) this.deps.outbox.enqueue(watch.chatKey, text, { key: `${watch.kind}:${id}` });
      })();
    } catch (err) {
      this.deps.log.warn(`could not report a ${watch.kind} to its chat`, { id, error: err as Error });
    }
  }
}
