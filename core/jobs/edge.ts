/**
 * Edge mode hosts the satellite's worker in-process, on the SQLite bus. This is
 * the one place core imports from satellite/ (a test keeps it that way).
 */
import { buildPolicies, Redactor, Worker, type AgentModel, type AgentModelReply } from "../../satellite/worker/index.ts";
import { ConfigError } from "../config/index.ts";
import type { ModelRouter } from "../models/router.ts";
import { parseRef } from "../models/router.ts";
import type { Bus } from "../protocol/index.ts";
import type { Services } from "../services.ts";

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

/** The worker's policies from config; a bad allowlist or host rule names its key. */
function policies(j: Services["config"]["jobs"]) {
  try {
    return buildPolicies(j);
  } catch (err) {
    const m = /^([A-Z_]+): (.*)$/.exec((err as Error).message);
    if (m) throw new ConfigError(m[1]!, m[2]!, "config");
    throw err;
  }
}

/** Builds (and so validates) the in-process worker; the caller starts it. */
export function createEdgeWorker(s: Services, bus: Bus, id: string): Worker {
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
      ...policies(j),
      redactor: new Redactor(j.redactValues),
      ...(s.models.router.hasModel("worker") ? { model: new RouterWorkerModel(s.models.router) } : {}),
    },
  });
  return worker;
}
