/**
 * The worker role's entry point: what the satellite runs, and what the core
 * hosts in-process in edge mode (core/jobs/edge.ts imports only this file).
 */

export { credsSecrets, Redactor } from "../../core/agent/redact.ts";
export { AllowlistError, GrammarError } from "./commands/index.ts";
export type { WorkerModel } from "./executors/agent.ts";
export type { ExecutorConfig } from "./executors/index.ts";
export { buildPolicies, kubernetesEnv, type PolicySettings } from "./policy.ts";
export { Worker, type WorkerLog, type WorkerOptions } from "./worker.ts";
