/**
 * Starting what a schedule runs and waiting for its end: an agent turn (its
 * own conversation or a named one, origin `schedule`, billed to the background
 * budget), a job through the jobs service, or a task through the tasks area.
 */
import type { Brain } from "../brain/brain.ts";
import type { Price } from "../config/index.ts";
import { AppError } from "../errors.ts";
import { parseJobRequest } from "../jobs/request.ts";
import type { JobService } from "../jobs/service.ts";
import { costOf } from "../models/prices.ts";
import type { JobUsage } from "../protocol/index.ts";
import type { TaskService } from "../tasks/service.ts";
import type { RunLink, ScheduleRow } from "./store.ts";
import { actionOf } from "./store.ts";

export interface RunEnd {
  ok: boolean;
  reason?: string;
  costUsd?: number;
}

export interface Started {
  link: RunLink;
  done: Promise<RunEnd>;
  /** Stops the run (its timeout passed); `done` still resolves. */
  stop(): void;
}

export interface RunnerDeps {
  brain: Brain;
  jobs: JobService;
  tasks?: TaskService;
  prices: () => Record<string, Price>;
  /** The agent kind's own conversation, once its first run opened it. */
  ownConversation(scheduleId: string, conversationId: string): void;
  conversationExists(id: string): boolean;
}

const cost = (u: JobUsage | undefined, prices: Record<string, Price>) => (u ? Math.round(costOf(u.model, u, prices) * 1e6) / 1e6 : undefined);

/** Throws AppError when it cannot start (budget spent, no model, the job or task refused). */
export async function startRun(d: RunnerDeps, s: ScheduleRow, timeoutMs: number): Promise<Started> {
  const action = actionOf(s);
  if (action.kind === "agent") {
    // A named conversation the owner deleted is an error to see, not a silent new conversation.
    let conversationId = action.conversationId ?? s.conversationId ?? undefined;
    if (!action.conversationId && conversationId && !d.conversationExists(conversationId)) conversationId = undefined;
    const turn = d.brain.start({ message: action.prompt, origin: "schedule", whenBusy: "queue", ...(conversationId ? { conversationId } : {}) });
    const link = (): RunLink => ({ conversationId: turn.conversationId, turnId: turn.id });
    if (!action.conversationId && turn.conversationId && turn.conversationId !== s.conversationId) d.ownConversation(s.id, turn.conversationId);
    const done = turn.done.then((r): RunEnd => {
      if (!action.conversationId && r.conversationId && r.conversationId !== s.conversationId) d.ownConversation(s.id, r.conversationId);
      return r.error ? { ok: false, reason: `${r.error.code}: ${r.error.message}`, costUsd: r.usage.costUsd } : { ok: true, costUsd: r.usage.costUsd };
    });
    return {
      get link() {
        return link();
      },
      done,
      stop: () => turn.abort.abort(new AppError("stopped", `the scheduled run passed its timeout (${Math.round(timeoutMs / 1000)} s)`)),
    };
  }
  if (action.kind === "job") {
    const { spec } = parseJobRequest(action.job);
    const { job } = await d.jobs.dispatch(spec, { origin: "schedule", actor: "schedule" });
    const stop = new AbortController();
    // A job's record carries no usage (its model calls are in the ledger), so its run has no cost of its own.
    const done = d.jobs.waitFor(job.id, timeoutMs, undefined, stop.signal).then((j): RunEnd => {
      if (!j) return { ok: false, reason: "the job is gone" };
      if (j.status === "completed") return { ok: true };
      if (j.status === "failed") return { ok: false, reason: j.error ? `${j.error.code}: ${j.error.message}` : "the job failed" };
      return { ok: false, reason: `the job was still ${j.status} when the run's timeout passed` };
    });
    return { link: { jobId: job.id }, done, stop: () => stop.abort() };
  }
  if (!d.tasks) throw new AppError("invalid_schedule", "this schedule starts a task, and the tasks area is not in this build");
  const tasks = d.tasks;
  const task = tasks.create(action.task, { actor: "schedule", origin: "schedule" });
  const stop = new AbortController();
  const done = tasks.waitFor(task.id, timeoutMs, undefined, stop.signal).then((t): RunEnd => {
    const c = cost(t?.usage, d.prices());
    const extra = c !== undefined ? { costUsd: c } : {};
    if (!t) return { ok: false, reason: "the task is gone" };
    if (t.status === "succeeded") return { ok: true, ...extra };
    if (t.status === "failed" || t.status === "cancelled" || t.status === "timed_out") {
      return {
        ok: false,
        reason: t.error ? `${t.error.code}: ${t.error.message}` : `the task ended ${t.status}${t.exitCode !== undefined ? ` (exit ${t.exitCode})` : ""}`,
        ...extra,
      };
    }
    // Past the run's timeout: cancel it so it does not go on unwatched.
    void tasks.cancel(t.id, { actor: "schedule", origin: "schedule" }).catch(() => {
      // it ended meanwhile
    });
    return { ok: false, reason: `the task was still ${t.status} when the run's timeout passed${t.approval?.state === "pending" ? " (waiting for the owner's approval)" : ""}` };
  });
  return { link: { taskId: task.id }, done, stop: () => stop.abort() };
}
