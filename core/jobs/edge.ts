/**
 * Edge mode hosts the satellite's worker in-process, on the SQLite bus, and
 * the sandbox its commands run in. This is the one place core imports from
 * satellite/ (a test keeps it that way).
 */
import { readFileSync } from "node:fs";
import { setUpSandbox, type SandboxSetup } from "../../satellite/sandbox/index.ts";
import { AllowlistError, buildPolicies, credsSecrets, GrammarError, Redactor, Worker, type AgentModel, type AgentModelReply } from "../../satellite/worker/index.ts";
import { ConfigError, type Config } from "../config/index.ts";
import type { ModelRouter } from "../models/router.ts";
import { parseRef } from "../models/router.ts";
import type { Bus } from "../protocol/index.ts";
import type { Services } from "../services.ts";
import type { ComponentHealth } from "../telemetry/health.ts";

/** The worker role through the core's router: fallback, retries, budget and usage records included. */
class RouterWorkerModel implements AgentModel {
  readonly recordsUsage = true;
  constructor(private router: ModelRouter) {}

  async complete(req: Parameters<AgentModel["complete"]>[0], signal: AbortSignal): Promise<AgentModelReply> {
    const r = await this.router.complete(
      {
        system: req.system,
        messages: req.messages,
        tools: req.tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
        maxTokens: req.maxTokens,
      },
      { role: "worker", background: true, signal },
    );
    const { provider, model } = parseRef(r.ref || "anthropic:unknown");
    return {
      text: r.text,
      toolUses: r.toolUses.map((u) => ({ id: u.id, name: u.name, input: u.input })),
      stopReason: r.stopReason,
      usage: r.usage ?? { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
      model,
      provider,
    };
  }
}

/** The worker's policies from config; a bad allowlist, grammar or host rule names its key. */
function policies(config: Config, sandbox: SandboxSetup) {
  const j = config.jobs;
  try {
    return buildPolicies({ ...j, sandbox });
  } catch (err) {
    if (err instanceof GrammarError) throw new ConfigError(`commands.${err.path}`, err.reason, config.file ?? "config");
    if (err instanceof AllowlistError) throw new ConfigError("COMMAND_ALLOWLIST", err.message.slice("COMMAND_ALLOWLIST: ".length), "config");
    const m = /^([A-Z_]+): (.*)$/.exec((err as Error).message);
    if (m) throw new ConfigError(m[1]!, m[2]!, "config");
    throw err;
  }
}

/** Tries the sandbox once (what the jobs area and `bakerst doctor` report); it never sees the data dir or the NATS credentials. */
export function edgeSandbox(config: Config): SandboxSetup {
  const hide = [config.dataDir, config.nats.credsFile, config.file].filter((p): p is string => !!p);
  return setUpSandbox({ mode: config.jobs.commandSandbox, hide });
}

/** The `sandbox` component of GET /api/system/health. */
export function sandboxHealth(setup: SandboxSetup): ComponentHealth {
  if (setup.mode === "off") {
    return { status: "disabled", detail: `COMMAND_SANDBOX=off: command jobs run without a sandbox (${setup.status.ok ? "bubblewrap would work here" : setup.status.detail})` };
  }
  if (setup.status.ok) return { status: "ok", detail: setup.status.detail };
  return { status: "degraded", detail: `${setup.status.detail}; command jobs are refused`, ...(setup.status.fix ? { fix: setup.status.fix } : {}) };
}

/** Every secret value the core holds, for the worker's redactor: configured ones, the NATS credentials' contents. */
function heldSecrets(config: Config): string[] {
  const values = [...config.jobs.redactValues];
  if (config.nats.credsFile) {
    try {
      values.push(...credsSecrets(readFileSync(config.nats.credsFile, "utf8")));
    } catch {
      // unreadable: the bus reports it
    }
  }
  return values;
}

/** Builds (and so validates) the in-process worker; the caller starts it. */
export function createEdgeWorker(s: Services, bus: Bus, id: string, sandbox: SandboxSetup): Worker {
  const j = s.config.jobs;
  const log = s.log.child({ area: "worker", worker: id });
  const worker = new Worker({
    bus,
    id,
    concurrency: j.workerConcurrency,
    version: s.version,
    heartbeatMs: j.heartbeatMs,
    log: (level, msg, fields) => log[level](msg, fields),
    executors: {
      ...policies(s.config, sandbox),
      // The API token too, generated or rotated while running.
      redactor: new Redactor(heldSecrets(s.config), () => [s.token.token]),
      ...(s.models.router.hasModel("worker") ? { model: new RouterWorkerModel(s.models.router) } : {}),
    },
  });
  return worker;
}
