/**
 * Edge mode hosts the satellite's worker in-process, on the SQLite bus, and
 * the sandbox its commands run in; the tasks area hosts the local task
 * launcher (and the runner, for `bakerst task runner`) through here too. This
 * is the one place core imports from satellite/ (a test keeps it that way).
 */
import { readFileSync } from "node:fs";
import { isReservedTarget, type Sandbox, type SandboxProfile, type SandboxSetup, SYSTEM_PATH, setUpSandbox } from "../../satellite/sandbox/index.ts";
import { AllowlistError, buildPolicies, credsSecrets, GrammarError, Redactor, Worker } from "../../satellite/worker/index.ts";

export {
  binaryRunner,
  DEFAULT_TASK_LIMITS,
  type EgressEvent,
  type EgressProxy,
  EgressRuleError,
  isCompiled,
  LocalLauncher,
  type LocalLauncherOptions,
  parseAllowlist,
  RUNNER_DIR,
  type RunnerCommand,
  sourceRunner,
  startEgressProxy,
  taskRunnerMain,
} from "../../satellite/task/index.ts";

import type { AreaContext } from "../area/types.ts";
import { type Config, ConfigError } from "../config/index.ts";
import { CommandGrammarsSpec } from "../protocol/index.ts";
import type { ComponentHealth } from "../telemetry/health.ts";
import { logFn } from "../telemetry/log.ts";
import type { JobsSettings } from "./keys.ts";

/** The worker's policies from config; a bad allowlist, grammar or host rule names its key. */
function policies(config: Config, j: JobsSettings, sandbox: SandboxSetup) {
  try {
    return buildPolicies({
      ...(j.COMMAND_ALLOWLIST ? { commandAllowlist: j.COMMAND_ALLOWLIST } : {}),
      commandGrammars: config.section("commands", CommandGrammarsSpec) ?? {},
      commandTimeoutMs: j.COMMAND_TIMEOUT_MS,
      sandbox,
      httpAllow: j.HTTP_JOB_ALLOW,
      httpDeny: j.HTTP_JOB_DENY,
      httpTimeoutMs: j.HTTP_JOB_TIMEOUT_MS,
    });
  } catch (err) {
    if (err instanceof GrammarError) throw new ConfigError(`commands.${err.path}`, err.reason, config.file ?? "config");
    if (err instanceof AllowlistError) throw new ConfigError("COMMAND_ALLOWLIST", err.message.slice("COMMAND_ALLOWLIST: ".length), "config");
    const m = /^([A-Z_]+): (.*)$/.exec((err as Error).message);
    if (m) throw new ConfigError(m[1]!, m[2]!, "config");
    throw err;
  }
}

/** Tries the sandbox once (what the jobs area and `bakerst doctor` report); it never sees the data dir or the NATS credentials. */
export function edgeSandbox(config: Config, j: JobsSettings): SandboxSetup {
  const hide = [config.dataDir, config.nats.credsFile, config.file].filter((p): p is string => !!p);
  return setUpSandbox({ mode: j.COMMAND_SANDBOX as "required" | "off", hide });
}

/** The `sandbox` component of GET /api/system/health. */
export function sandboxHealth(setup: SandboxSetup): ComponentHealth {
  if (setup.mode === "off") {
    return { status: "disabled", detail: `COMMAND_SANDBOX=off: command jobs run without a sandbox (${setup.status.ok ? "bubblewrap would work here" : setup.status.detail})` };
  }
  if (setup.status.ok) return { status: "ok", detail: setup.status.detail };
  return { status: "degraded", detail: `${setup.status.detail}; command jobs are refused`, ...(setup.status.fix ? { fix: setup.status.fix } : {}) };
}

/** Every secret value the core holds, for the worker's redactor: configured ones and the NATS credentials' contents. */
function heldSecrets(ctx: AreaContext): string[] {
  const values = ctx.config.secrets();
  if (ctx.config.nats.credsFile) {
    try {
      values.push(...credsSecrets(readFileSync(ctx.config.nats.credsFile, "utf8")));
    } catch {
      // unreadable: the bus reports it
    }
  }
  return values;
}

/** Builds (and so validates) the in-process worker; the caller starts it. Its model is the core's router: budget and usage records included. */
export function createEdgeWorker(ctx: AreaContext, j: JobsSettings, id: string, sandbox: SandboxSetup): Worker {
  return new Worker({
    bus: ctx.bus,
    ackWaitMs: j.JOB_ACK_WAIT_MS,
    id,
    concurrency: j.WORKER_CONCURRENCY,
    version: ctx.version,
    heartbeatMs: j.HEARTBEAT_INTERVAL_MS,
    log: logFn(ctx.log.child({ worker: id })),
    executors: {
      ...policies(ctx.config, j, sandbox),
      // The API token and stored secrets too, generated, rotated or stored while running.
      redactor: new Redactor(heldSecrets(ctx), () => ctx.secrets()),
      model: { router: ctx.models.router, recordsUsage: true },
    },
  });
}

// The tasks area's sandbox: tasks have no opt-out, and their mounts may not cover the sandbox's system view.
// Stdio MCP skills run their servers in the same sandbox (core/skills/mcp/open.ts).
export { isReservedTarget, type Sandbox, type SandboxProfile, type SandboxSetup, SYSTEM_PATH, setUpSandbox };
