import { JobError, type AgentJob, type JobUsage } from "../../../core/protocol/index.ts";

/** Anthropic-style blocks: the shape both the core's router and the Anthropic SDK speak. */
export type AgentBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "tool_result"; tool_use_id: string; content: string; is_error?: boolean };
export interface AgentMessage {
  role: "user" | "assistant";
  content: AgentBlock[];
}
export interface AgentTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  run(input: unknown, signal: AbortSignal): Promise<string>;
}

export interface AgentModelReply {
  text: string;
  toolUses: { id: string; name: string; input: unknown }[];
  stopReason: string;
  usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number };
  model: string;
  provider: "anthropic" | "openai";
}

/**
 * The worker role's model. Inside the core it is the router (which records
 * usage itself); on a remote satellite it is the vendor SDK, and the usage
 * travels back in the final status for the core to record.
 */
export interface AgentModel {
  readonly recordsUsage: boolean;
  complete(req: { system: string; messages: AgentMessage[]; tools: AgentTool[]; maxTokens: number }, signal: AbortSignal): Promise<AgentModelReply>;
}

export const DEFAULT_TOKEN_BUDGET = 50_000;
const MAX_ROUNDS = 10;
const FALLBACK_PERSONA = "You are a Baker Street worker running one background job. Do exactly the job and finish with a concise result.";

export interface AgentResult {
  text: string;
  rounds: number;
  budgetExhausted: boolean;
  usage: JobUsage;
}

/**
 * A model with its own tool loop (up to 10 rounds) inside a token budget
 * counted across rounds; when the budget runs out the job ends with what it has.
 */
export async function runAgent(job: AgentJob, persona: string | undefined, model: AgentModel | undefined, tools: AgentTool[], signal: AbortSignal): Promise<AgentResult> {
  if (!model) {
    throw new JobError("model_error", "no model is configured for agent jobs on this worker: set ANTHROPIC_API_KEY, or OPENAI_BASE_URL with MODEL_WORKER=openai:<model>, in its environment");
  }
  const budget = job.tokenBudget ?? DEFAULT_TOKEN_BUDGET;
  const messages: AgentMessage[] = [{ role: "user", content: [{ type: "text", text: job.prompt }] }];
  const usage: JobUsage = { model: "", provider: "anthropic", inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, recorded: model.recordsUsage };
  const byName = new Map(tools.map((t) => [t.name, t]));
  let text = "";
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const spent = usage.inputTokens + usage.outputTokens;
    const remaining = budget - spent;
    if (remaining < 64) return { text: text || "(token budget exhausted before an answer)", rounds: round - 1, budgetExhausted: true, usage };
    let reply: AgentModelReply;
    try {
      reply = await model.complete({ system: persona?.trim() || FALLBACK_PERSONA, messages, tools, maxTokens: Math.min(4096, remaining) }, signal);
    } catch (err) {
      throw new JobError("model_error", `worker model failed: ${(err as Error).message}`);
    }
    usage.model = reply.model;
    usage.provider = reply.provider;
    usage.inputTokens += reply.usage.inputTokens;
    usage.outputTokens += reply.usage.outputTokens;
    usage.cacheReadTokens += reply.usage.cacheReadTokens;
    usage.cacheWriteTokens += reply.usage.cacheWriteTokens;
    text = reply.text;
    if (!reply.toolUses.length || reply.stopReason !== "tool_use") return { text, rounds: round, budgetExhausted: false, usage };
    messages.push({
      role: "assistant",
      content: [...(reply.text ? [{ type: "text" as const, text: reply.text }] : []), ...reply.toolUses.map((u) => ({ type: "tool_use" as const, ...u }))],
    });
    const results: AgentBlock[] = [];
    for (const use of reply.toolUses) {
      const tool = byName.get(use.name);
      try {
        if (!tool) throw new Error(`unknown tool ${use.name}`);
        results.push({ type: "tool_result", tool_use_id: use.id, content: (await tool.run(use.input, signal)).slice(0, 32_000) });
      } catch (err) {
        results.push({ type: "tool_result", tool_use_id: use.id, content: (err as Error).message, is_error: true });
      }
    }
    messages.push({ role: "user", content: results });
  }
  return { text: text || "(stopped after 10 tool rounds)", rounds: MAX_ROUNDS, budgetExhausted: false, usage };
}
