import { existsSync } from "node:fs";
import type { Check } from "../cli/check.ts";
import type { Config } from "../config/index.ts";
import { silentLogger } from "../telemetry/log.ts";
import { TasksFileSchema, tasksKeys } from "./keys.ts";
import { createLocalLauncher } from "./local.ts";

/** `bakerst doctor`: the local sandbox and runner tried for real, the allowed paths, and Kubernetes RBAC when configured. */
export async function taskChecks(config: Config): Promise<Check[]> {
  const settings = config.read(tasksKeys);
  const file = config.section("tasks", TasksFileSchema) ?? {};
  const checks: Check[] = [];
  const local = createLocalLauncher({ config, settings, file, log: silentLogger }).status();
  checks.push(
    local.ok ? { ok: true, name: "tasks (local)", detail: local.detail } : { ok: false, name: "tasks (local)", detail: local.detail, ...(local.fix ? { fix: local.fix } : {}) },
  );
  const paths = settings.TASK_ALLOWED_PATHS;
  const missing = paths.filter((p) => !existsSync(p));
  checks.push(
    !paths.length
      ? { ok: true, name: "task paths", detail: "TASK_ALLOWED_PATHS is unset: tasks run without mounts" }
      : missing.length
        ? { ok: false, name: "task paths", detail: `TASK_ALLOWED_PATHS names paths that do not exist: ${missing.join(", ")}`, fix: "create them or take them off the list" }
        : { ok: true, name: "task paths", detail: `tasks may mount under ${paths.join(", ")}` },
  );
  if (settings.TASK_KUBECONFIG) {
    const { kubeConfig } = await import("./kubernetes/launcher.ts");
    const { rbacChecks } = await import("./kubernetes/rbac.ts");
    try {
      checks.push(...(await rbacChecks(kubeConfig(settings.TASK_KUBECONFIG), settings.TASK_NAMESPACE)));
    } catch (err) {
      checks.push({
        ok: false,
        name: "task rbac",
        detail: `TASK_KUBECONFIG ${settings.TASK_KUBECONFIG}: ${(err as Error).message}`,
        fix: "point TASK_KUBECONFIG at a kubeconfig file, or set it to in-cluster inside a pod",
      });
    }
    if (!settings.TASK_IMAGE)
      checks.push({
        ok: false,
        name: "task image",
        detail: "TASK_IMAGE is not set: task Jobs need the runner image",
        fix: "build deploy/tasks/Dockerfile.runner and set TASK_IMAGE to it",
      });
  }
  return checks;
}
