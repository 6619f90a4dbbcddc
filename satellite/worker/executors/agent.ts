import { runLoop } from "../../../core/agent/loop.ts";
import { type ModelRouter, parseRef } from "../../../core/agent/router.ts";
import type { BaseToolContext, ToolRegistry } from "../../../core/agent/tools.ts";
import { type AgentJob, AppError, JobError, type JobUsage } from "../../../core/protocol/index.ts";

/**
 * The worker role's model: the shared router (retries, fallback chain,
 * breaker). Inside the core it is the core's router, which records usage in
 * the ledger and gates on the budget; on a remote satellite it is the
 * satellite's own, and the usage travels back in the job's final status for
 * the core to record.
 */
export interface WorkerModel {
  router: Pick<ModelRouter, "stream" | "hasModel">;
  /** True in the core: the router's usage sink is the ledger, so the status must not count it again. */
  recordsUsage: boolean;
}

export const DEFAULT_TOKEN_BUDGET = 50_000;
const FALLBACK_PERSONA = "You are a Baker Street worker running one background job. Do exactly the job and finish with a concise result.";

export interface AgentResult {
  text: string;
  rounds: number;
  budgetExhausted: boolean;
  usage: JobUsage;
}

/**
 * A model with its own tool loop (the one the brain runs) inside a token
 * budget counted across rounds; when the budget runs out the job ends with
 * what it has.
 */
export async function runAgent(
  job: AgentJob,
  persona: string | undefined,
  model: WorkerModel | undefined,
  tools: ToolRegistry<BaseToolContext>,
  signal: AbortSignal,
): Promise<AgentResult> {
  if (!model?.router.hasModel("worker")) {
    throw new JobError(
      "model_error",
      "no model is configured for agent jobs on this worker: set ANTHROPIC_API_KEY, or OPENAI_BASE_URL with MODEL_WORKER=openai:<model>, in its environment",
    );
  }
  try {
    const r = await runLoop({
      router: model.router,
      call: { role: "worker", signal, background: true, origin: "job" },
      system: () => persona?.trim() || FALLBACK_PERSONA,
      messages: [{ role: "user", content: [{ type: "text", text: job.prompt }] }],
      tools,
      maxTokens: 4096,
      tokenBudget: job.tokenBudget ?? DEFAULT_TOKEN_BUDGET,
    });
    const { provider, model: name } = parseRef(r.usage.model ?? "anthropic:unknown");
    return {
      text: r.finalText || (r.stop === "budget" ? "(token budget exhausted before an answer)" : ""),
      rounds: r.rounds,
      budgetExhausted: r.stop === "budget",
      usage: {
        model: name,
        provider,
        inputTokens: r.usage.inputTokens,
        outputTokens: r.usage.outputTokens,
        cacheReadTokens: r.usage.cacheReadTokens,
        cacheWriteTokens: r.usage.cacheWriteTokens,
        recorded: model.recordsUsage,
      },
    };
  } catch (err) {
    if (signal.aborted) throw new JobError("timeout", "the agent job was stopped before it answered (timeout or cancel)");
    throw new JobError("model_error", err instanceof AppError ? err.message : `worker model failed: ${(err as Error).message}`);
  }
}
