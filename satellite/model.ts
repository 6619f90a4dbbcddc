import { ModelRouter } from "../core/agent/router.ts";
import type { AgentLog, ModelProvider, ProviderName } from "../core/agent/types.ts";
import { tracedProvider } from "../core/telemetry/tracing.ts";
import type { SatelliteConfig } from "./config.ts";
import type { WorkerModel } from "./worker/executors/agent.ts";

/**
 * The model agent jobs use on this satellite: the shared router over this
 * satellite's own provider, with the router's retries and breaker (the SDKs'
 * own retries stay off). Usage is counted per job by the loop and travels back
 * in the final status; the core gates the budget when it dispatches.
 */
export async function workerModel(cfg: SatelliteConfig, log: AgentLog): Promise<WorkerModel | undefined> {
  const providers: Partial<Record<ProviderName, ModelProvider>> = {};
  const timeoutMs = 600_000;
  if (cfg.model.provider === "openai" && cfg.openai.baseURL) {
    const { OpenAIProvider } = await import("../core/agent/providers/openai.ts");
    providers.openai = tracedProvider(new OpenAIProvider({ baseURL: cfg.openai.baseURL, ...(cfg.openai.apiKey ? { apiKey: cfg.openai.apiKey } : {}), timeoutMs }));
  }
  if (cfg.model.provider === "anthropic" && (cfg.anthropic.apiKey || cfg.anthropic.oauthToken)) {
    const { AnthropicProvider } = await import("../core/agent/providers/anthropic.ts");
    providers.anthropic = tracedProvider(new AnthropicProvider({ ...cfg.anthropic, timeoutMs }));
  }
  if (!Object.keys(providers).length) return undefined;
  const chain = [`${cfg.model.provider}:${cfg.model.name}`];
  const router = new ModelRouter({
    providers,
    chain: (role) => (role === "worker" ? chain : []),
    usage: { record: () => 0, assertWithinBudget: () => {} },
    log,
    retry: { maxRetries: 3 },
  });
  return { router, recordsUsage: false };
}
