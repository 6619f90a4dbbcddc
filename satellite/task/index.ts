/**
 * The task role's entry points: the runner (`bakerst-satellite --mode task`,
 * and `bakerst task runner` in a binary without a satellite beside it) and the
 * local launcher the core hosts (core/jobs/edge.ts imports only this file).
 */
export { LocalLauncher, DEFAULT_TASK_LIMITS, RUNNER_DIR, type LocalLauncherOptions, type RunnerCommand, type TaskLimits } from "./local.ts";
export { runTaskRunner, EXIT_CANCELLED, EXIT_TIMED_OUT, type RunnerIo } from "./runner.ts";
export { taskRunnerMain } from "./entry.ts";
export { parseAllowlist, EgressRuleError, startEgressProxy, type EgressEvent, type EgressProxy } from "../sandbox/egress.ts";
