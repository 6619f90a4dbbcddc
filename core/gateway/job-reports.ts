import type { Db } from "../db/client.ts";
import type { JobEvent, JobService } from "../jobs/service.ts";
import type { JobView } from "../jobs/store.ts";
import type { Logger } from "../telemetry/log.ts";
import { escapeMarkdown } from "./format/render.ts";
import type { Outbox } from "./outbox.ts";

const FINAL = new Set(["completed", "failed"]);
const PREVIEW_CHARS = 1500;

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
  return body ? `✅ The ${escapeMarkdown(name)} finished:\n\n\`\`\`\n${body.replace(/```/g, "``\u200b`")}\n\`\`\`` : `✅ The ${escapeMarkdown(name)} finished.`;
}

/**
 * Jobs a chat's turn started and did not see finish: when one ends, the chat
 * that started it is told, once (the watch and the outbox row share a
 * transaction; at start-up jobs that ended while the core was down are told).
 */
export class JobReports {
  private onJob = (ev: JobEvent) => {
    if (FINAL.has(ev.status)) void this.report(ev.id);
  };

  constructor(
    private deps: { db: Db; outbox: Outbox; jobs: JobService; log: Logger },
  ) {}

  /** Inside the turn's final transaction. */
  watch(chatKey: string, jobs: Map<string, string>): void {
    const insert = this.deps.db.$client.query("INSERT INTO gateway_job_watch (job_id, chat_key, created_at) VALUES (?, ?, ?) ON CONFLICT (job_id) DO NOTHING");
    let any = false;
    for (const [id, status] of jobs) {
      if (FINAL.has(status)) continue;
      insert.run(id, chatKey, Date.now());
      any = true;
    }
    // A job that ended between its last event and this watch is reported now.
    if (any) queueMicrotask(() => { for (const id of jobs.keys()) void this.report(id); });
  }

  start(): void {
    this.deps.jobs.events.on("job", this.onJob);
    const open = this.deps.db.$client.query("SELECT job_id AS id FROM gateway_job_watch WHERE reported_at IS NULL").all() as { id: string }[];
    for (const { id } of open) void this.report(id);
  }

  stop(): void {
    this.deps.jobs.events.off("job", this.onJob);
  }

  private async report(jobId: string): Promise<void> {
    const c = this.deps.db.$client;
    const watch = c.query("SELECT chat_key AS chatKey FROM gateway_job_watch WHERE job_id = ? AND reported_at IS NULL").get(jobId) as { chatKey: string } | null;
    if (!watch) return;
    try {
      // waitFor with no time to wait is the job as it is now.
      const job = await this.deps.jobs.waitFor(jobId, 0);
      if (!job || !FINAL.has(job.status)) return;
      c.transaction(() => {
        const claimed = c.query("UPDATE gateway_job_watch SET reported_at = ? WHERE job_id = ? AND reported_at IS NULL").run(Date.now(), jobId).changes;
        if (claimed) this.deps.outbox.enqueue(watch.chatKey, jobReport(job), { key: `job:${jobId}` });
      })();
    } catch (err) {
      this.deps.log.warn("could not report a job to its chat", { jobId, error: err as Error });
    }
  }
}
