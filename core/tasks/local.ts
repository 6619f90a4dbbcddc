/**
 * The local launcher as the core sets it up: the sandbox tried for real
 * (tasks have no opt-out: without it local tasks are refused with the
 * reason), the runner found, the core's router for agent tasks and egress
 * refusals into the audit log.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { AuditLog } from "../audit/service.ts";
import type { Config } from "../config/index.ts";
import { binaryRunner, isCompiled, LocalLauncher, type RunnerCommand, type SandboxSetup, setUpSandbox, sourceRunner } from "../jobs/edge.ts";
import type { Models } from "../models/index.ts";
import type { Logger } from "../telemetry/log.ts";
import { logFn } from "../telemetry/log.ts";
import type { TasksFile, TasksSettings } from "./keys.ts";

/**
 * How the sandbox starts the runner: TASK_RUNNER; else bakerst-satellite
 * beside a compiled bakerst (it starts faster); else the compiled bakerst
 * itself (`bakerst task runner`); else, running from source, Bun with the
 * sources and node_modules bound read-only.
 */
export function runnerCommand(runner: string | undefined): RunnerCommand | { problem: string; fix: string } {
  if (runner) {
    if (!existsSync(runner))
      return { problem: `TASK_RUNNER ${runner} does not exist`, fix: "point TASK_RUNNER at a bakerst-satellite binary (bun run build writes dist/bakerst-satellite)" };
    return binaryRunner(runner);
  }
  if (isCompiled()) {
    const beside = join(dirname(process.execPath), "bakerst-satellite");
    return existsSync(beside) ? binaryRunner(beside) : binaryRunner(process.execPath, ["task", "runner"]);
  }
  return sourceRunner();
}

/** The sandbox tasks run in: never sees the data dir, the config file or the NATS credentials. */
export function taskSandbox(config: Config): SandboxSetup {
  const hide = [config.dataDir, config.nats.credsFile, config.file].filter((p): p is string => !!p);
  return setUpSandbox({ mode: "required", hide });
}

export function createLocalLauncher(o: {
  config: Config;
  settings: TasksSettings;
  file: TasksFile;
  models?: Models;
  audit?: AuditLog;
  log: Logger;
  sandbox?: SandboxSetup;
}): LocalLauncher {
  return new LocalLauncher({
    sandbox: o.sandbox ?? taskSandbox(o.config),
    runner: runnerCommand(o.settings.TASK_RUNNER),
    ...(o.models ? { model: { router: o.models.router, call: { role: "worker", background: true, origin: "task" } } } : {}),
    ...(o.file.limits ? { limits: o.file.limits } : {}),
    log: logFn(o.log),
    onEgress: (taskId, e) => {
      if (e.allowed) return;
      o.audit?.record({
        action: "task.egress_refused",
        outcome: "refused",
        actor: `task:${taskId.slice(0, 13)}`,
        target: taskId,
        detail: { host: e.host.slice(0, 200), port: e.port },
      });
    },
  });
}
