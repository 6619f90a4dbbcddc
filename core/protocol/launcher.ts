/**
 * The seam between the core's tasks and where a task runs: the local sandbox
 * (satellite/task/local.ts, hosted through core/jobs/edge.ts) or a Kubernetes
 * Job (core/tasks/kubernetes/). Both run the same runner and pass one
 * contract suite (test/tasks/contract.ts). Types only.
 */
import type { TaskReport, TaskRunSpec } from "./messages.ts";

export const TASK_TARGETS = ["local", "kubernetes"] as const;
/** `local`, `kubernetes`, or a paired companion's id (core/companions). */
export type TaskTarget = (typeof TASK_TARGETS)[number] | (string & {});
/** Names a companion may not take: they are built-in targets. */
export const isBuiltinTarget = (t: string): t is (typeof TASK_TARGETS)[number] => (TASK_TARGETS as readonly string[]).includes(t);

export interface LauncherStatus {
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface LaunchHooks {
  /** A report the launcher read from the runner (its stdout, or the pod's log); the core keeps each `seq` once. */
  report(r: TaskReport): void;
  /** Something worth a log line (a pod event, a log stream that broke). */
  note?(level: "info" | "warn", msg: string, fields?: Record<string, unknown>): void;
}

/** How the runner's process (or pod) ended, for a task whose runner never reported a result. */
export interface LaunchEnd {
  exitCode: number | null;
  /** Why it ended, when the launcher knows more than the code: "OOMKilled", "DeadlineExceeded", stderr's last line. */
  reason?: string;
}

export interface LaunchedTask {
  /** Stops the task: the runner is told first (it reports `cancelled`), then it and everything it started is killed. Resolves once that is under way. */
  cancel(): Promise<void>;
  /** Stops following a task that outlives this process (a Job), leaving it running: a core shutting down. */
  detach?(): void;
  /** Resolves when the runner has ended and its reports have been read. */
  done: Promise<LaunchEnd>;
}

export interface TaskLauncher {
  readonly target: TaskTarget;
  /** Whether tasks can run here now, and if not why and how to fix it. */
  status(): LauncherStatus;
  /** Why this launcher cannot run a task asked like this (a mount with no volume behind it, a toolbox without an image), or undefined. */
  unsupported?(spec: Pick<TaskRunSpec, "mounts" | "network" | "toolbox" | "mode">): string | undefined;
  /**
   * How long a task may wait for its target before it starts (a companion's
   * queue holds it while the companion is away); the core's deadline is this
   * plus the task's timeout. Default 0.
   */
  readonly waitMs?: number;
  /** The task runs on another host (a companion): its mounts are that host's paths, checked there against its own allowed paths. */
  readonly remote?: boolean;
  /** Starts the runner for an approved task; throws when it cannot start at all. */
  launch(spec: TaskRunSpec, hooks: LaunchHooks): Promise<LaunchedTask>;
  /** Takes up a task a previous process started and that outlives it (a Job); throws when it is gone. */
  attach?(spec: TaskRunSpec, hooks: LaunchHooks): Promise<LaunchedTask>;
  /** Removes what a task left behind when the core lost track of it: its Job. */
  forget?(taskId: string): Promise<void>;
  close?(): Promise<void>;
}
