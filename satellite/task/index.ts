/**
 * The task role's entry points: the runner (`bakerst-satellite --mode task`,
 * and `bakerst task runner` in a binary without a satellite beside it) and the
 * local launcher the core hosts (core/jobs/edge.ts imports only this file).
 */

export { type EgressEvent, type EgressProxy, EgressRuleError, parseAllowlist, startEgressProxy } from "../sandbox/egress.ts";
export { taskRunnerMain } from "./entry.ts";
export { binaryRunner, DEFAULT_TASK_LIMITS, isCompiled, LocalLauncher, type LocalLauncherOptions, RUNNER_DIR, type RunnerCommand, sourceRunner, type TaskLimits } from "./local.ts";
export { EXIT_CANCELLED, EXIT_TIMED_OUT, type RunnerIo, runTaskRunner } from "./runner.ts";
