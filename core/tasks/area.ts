import { realpathSync } from "node:fs";
import { Redactor } from "../agent/redact.ts";
import { defineArea } from "../area/types.ts";
import { type Config, ConfigError } from "../config/index.ts";
import { isReservedTarget } from "../jobs/edge.ts";
import type { TaskLauncher } from "../protocol/index.ts";
import type { ComponentHealth } from "../telemetry/health.ts";
import { parsePreapproved } from "./approval.ts";
import { taskChecks } from "./doctor.ts";
import { startPodEgress } from "./egress.ts";
import { TaskJournal } from "./journal.ts";
import { type TasksFile, TasksFileSchema, tasksKeys } from "./keys.ts";
import { createLocalLauncher } from "./local.ts";
import { taskRoutes } from "./routes.ts";
import { Runs } from "./runs.ts";
import { TaskService } from "./service.ts";
import { TaskStore } from "./store.ts";
import { registerTaskTools } from "./tools.ts";

declare module "../area/types.ts" {
  interface Provided {
    tasks: TaskService;
  }
}

export const tasksFile = (config: Config): TasksFile => config.section("tasks", TasksFileSchema) ?? {};

/**
 * Toolbox paths are bound into the sandbox as they are: each must exist, keep
 * clear of the sandbox's system view, and neither be nor hold the data dir.
 * A bad one stops start-up naming it.
 */
function checkToolboxes(config: Config, file: TasksFile): void {
  const data = realpathSync(config.dataDir);
  for (const [name, box] of Object.entries(file.toolboxes ?? {})) {
    (box.paths ?? []).forEach((p, i) => {
      const key = `tasks.toolboxes.${name}.paths.${i}`;
      let real: string;
      try {
        real = realpathSync(p);
      } catch {
        throw new ConfigError(key, `an existing directory, got ${JSON.stringify(p)}`, config.file ?? "config");
      }
      if (real !== p) throw new ConfigError(key, `its real path (${real}), without symlinks`, config.file ?? "config");
      if (isReservedTarget(p)) throw new ConfigError(key, "a path outside the sandbox's system view (/usr, /etc, /proc...): that is visible already", config.file ?? "config");
      if (data === p || data.startsWith(`${p}/`) || p.startsWith(`${data}/`)) throw new ConfigError(key, "a path that neither is nor holds the data dir", config.file ?? "config");
    });
  }
}

function launcherHealth(launchers: Partial<Record<string, TaskLauncher>>, counts: Record<string, number>, running: number, egress: string | undefined): ComponentHealth {
  const targets = Object.fromEntries(Object.entries(launchers).map(([t, l]) => [t, l!.status()]));
  const down = Object.entries(targets).filter(([, s]) => !s.ok);
  const base = { targets, running, counts, ...(egress ? { podEgress: egress } : {}) };
  if (!down.length) return { status: "ok", ...base };
  return { status: "degraded", detail: down.map(([t, s]) => `${t}: ${s.detail}`).join("; "), ...(down[0]![1].fix ? { fix: down[0]![1].fix } : {}), ...base };
}

/** Tasks: sandboxed script and agent runs, locally or as Kubernetes Jobs; API, tools, approval and audit. */
export const tasksArea = defineArea({
  name: "tasks",
  provides: ["tasks"],
  config: { keys: tasksKeys, sections: { tasks: TasksFileSchema } },
  doctor: taskChecks,
  async start(ctx) {
    const settings = ctx.config.read(tasksKeys);
    const file = tasksFile(ctx.config);
    checkToolboxes(ctx.config, file);
    const preapproved = parsePreapproved(settings.TASK_PREAPPROVED);
    const now = () => Date.now();
    const store = new TaskStore(ctx.store.db, ctx.store.sqlite);
    const journal = new TaskJournal(store, ctx.log, now);
    const local = createLocalLauncher({ config: ctx.config, settings, file, models: ctx.models, audit: ctx.audit, log: ctx.log });
    const launchers: Partial<Record<string, TaskLauncher>> = { local };
    const st = local.status();
    if (!st.ok) ctx.log.error("local tasks will be refused", { detail: st.detail, fix: st.fix });
    const redactor = new Redactor([], () => ctx.secrets());
    const runs = new Runs({
      store,
      journal,
      bus: ctx.bus,
      launchers,
      settings,
      ledger: ctx.models.ledger,
      audit: ctx.audit,
      log: ctx.log,
      persona: () => ctx.personality.read("WORKER.md"),
      toolboxPaths: (name) => file.toolboxes?.[name]?.paths ?? [],
      redact: (text) => redactor.redact(text),
      now,
    });
    const tasks = new TaskService({
      store,
      journal,
      runs,
      launchers,
      settings,
      file,
      mounts: { allowed: settings.TASK_ALLOWED_PATHS, forbidden: [ctx.config.dataDir, ctx.config.nats.credsFile, ctx.config.file].filter((p): p is string => !!p) },
      preapproved,
      ledger: ctx.models.ledger,
      audit: ctx.audit,
      now,
    });
    // Task pods with a network allowlist go out through the core's proxy; it needs the running tasks to know who is asking.
    const egress = settings.TASK_KUBECONFIG ? await startPodEgress({ settings, runs, store, audit: ctx.audit }) : undefined;
    if (settings.TASK_KUBECONFIG) {
      const { KubernetesLauncher } = await import("./kubernetes/launcher.ts");
      launchers.kubernetes = KubernetesLauncher.fromConfig(settings, file, ctx.log, egress?.urlFor);
    }
    runs.start();
    ctx.provide("tasks", tasks);
    registerTaskTools(ctx.tools, tasks, settings);
    ctx.routes(taskRoutes(tasks));
    ctx.health.register("tasks", () => launcherHealth(launchers, store.counts(), runs.active(), egress?.proxy.address));
    ctx.onStop(async () => {
      await runs.stop();
      await egress?.proxy.close();
      for (const l of Object.values(launchers)) await l?.close?.();
    });
  },
});
