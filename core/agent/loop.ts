import type { CallOptions, ModelRouter } from "./router.ts";
import type { BaseToolContext, ToolOutcome, ToolRegistry } from "./tools.ts";
import type { Block, ChatMessage, TextBlock, ToolResultBlock, ToolUseBlock } from "./types.ts";

/** Tool rounds a loop may take; the round after the last is answered without tools. */
export const MAX_TOOL_ROUNDS = 10;
const LAST_ROUND_NOTE = "You have used every tool round of this turn. Answer now with what you have, without calling tools.";
/** Below this many tokens left in a budget, another model call cannot say anything useful. */
const MIN_ROUND_TOKENS = 64;

export interface LoopUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
  modelCalls: number;
  /** The last model that answered, as `provider:model`. */
  model: string | null;
}

export interface ToolCallRecord {
  id: string;
  name: string;
  input: unknown;
  ok: boolean;
  summary: string;
}

/** What a host (the brain, a worker) hears as the loop runs; every hook is optional and must not throw. */
export interface LoopHooks {
  /** A model started answering this round (after any retries and fallbacks). */
  model?(ref: string): void;
  text?(delta: string): void;
  /** A round's complete assistant message, before its tools run. */
  assistant?(content: Block[], round: { model: string | undefined; index: number }): void;
  toolUse?(use: ToolUseBlock): void;
  toolResult?(use: ToolUseBlock, outcome: ToolOutcome): void;
  /** The round's tool results, as they go back to the model. */
  toolResults?(results: ToolResultBlock[]): void;
}

export interface LoopOptions<C extends BaseToolContext> {
  router: Pick<ModelRouter, "stream">;
  call: CallOptions & { signal: AbortSignal };
  /** The system prompt of each round (areas may change it between rounds). */
  system: (round: number) => string | Promise<string>;
  /** The conversation so far; the loop appends its rounds to it. */
  messages: ChatMessage[];
  tools?: ToolRegistry<C>;
  /** What each tool call gets besides the signal. */
  context?: Omit<C, "signal">;
  maxRounds?: number;
  maxTokens?: number;
  /** Total tokens (input + output, across rounds) the loop may spend; past it, it stops with what it has. */
  tokenBudget?: number;
  hooks?: LoopHooks;
  /** Accumulators the caller keeps, so a loop that throws still tells what it spent and called. */
  usage?: LoopUsage;
  toolCalls?: ToolCallRecord[];
}

export interface LoopResult {
  /** Every round's text, in order. */
  text: string;
  /** The last round's text: the answer of a job. */
  finalText: string;
  toolCalls: ToolCallRecord[];
  usage: LoopUsage;
  rounds: number;
  stop: "answered" | "budget";
}

export const emptyLoopUsage = (): LoopUsage => ({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0, modelCalls: 0, model: null });

/**
 * The agent loop both binaries run: a model call, the tools it asked for (in
 * parallel, errors as results), their results back to the model, up to
 * `maxRounds` tool rounds and then one answer without tools. Brain turns,
 * agent jobs and (next) agent tasks and companions all go through here; the
 * router underneath retries, falls back and trips breakers.
 */
export async function runLoop<C extends BaseToolContext>(opts: LoopOptions<C>): Promise<LoopResult> {
  const maxRounds = opts.maxRounds ?? MAX_TOOL_ROUNDS;
  const { signal } = opts.call;
  const hooks = opts.hooks ?? {};
  const usage = opts.usage ?? emptyLoopUsage();
  const toolCalls = opts.toolCalls ?? [];
  let text = "";
  let finalText = "";

  for (let round = 0; ; round++) {
    const last = round >= maxRounds;
    let maxTokens = opts.maxTokens ?? 8192;
    if (opts.tokenBudget !== undefined) {
      const left = opts.tokenBudget - usage.inputTokens - usage.outputTokens;
      if (left < MIN_ROUND_TOKENS) return { text, finalText, toolCalls, usage, rounds: round, stop: "budget" };
      maxTokens = Math.min(maxTokens, left);
    }
    const system = await opts.system(round);
    const specs = opts.tools?.specs() ?? [];
    let roundText = "";
    const uses: ToolUseBlock[] = [];
    let model: string | undefined;
    for await (const ev of opts.router.stream(
      {
        system: last && specs.length ? `${system}\n\n${LAST_ROUND_NOTE}` : system,
        messages: opts.messages,
        ...(specs.length ? { tools: specs, toolChoice: last ? ("none" as const) : ("auto" as const) } : {}),
        maxTokens,
      },
      opts.call,
    )) {
      if (ev.type === "model") {
        model = ev.ref;
        hooks.model?.(ev.ref);
      } else if (ev.type === "text") {
        roundText += ev.delta;
        hooks.text?.(ev.delta);
      } else if (ev.type === "tool_use") {
        if (!last) uses.push({ type: "tool_use", id: ev.id, name: ev.name, input: ev.input });
      } else if (ev.type === "done") {
        usage.inputTokens += ev.usage.inputTokens;
        usage.outputTokens += ev.usage.outputTokens;
        usage.cacheReadTokens += ev.usage.cacheReadTokens;
        usage.cacheWriteTokens += ev.usage.cacheWriteTokens;
        usage.costUsd += ev.costUsd ?? 0;
        usage.modelCalls++;
        usage.model = model ?? null;
      }
    }
    // A stream cut by the caller's abort can end without an error: the round did not finish.
    if (signal.aborted) throw signal.reason;
    const content: Block[] = [...(roundText ? [{ type: "text", text: roundText } satisfies TextBlock] : []), ...uses];
    hooks.assistant?.(content, { model, index: round });
    text += roundText;
    finalText = roundText;
    if (!uses.length || !opts.tools) return { text, finalText, toolCalls, usage, rounds: round + 1, stop: "answered" };
    opts.messages.push({ role: "assistant", content });

    for (const use of uses) hooks.toolUse?.(use);
    const tools = opts.tools;
    const ctx = { ...opts.context, signal } as C;
    const outcomes = await Promise.all(uses.map((u) => tools.execute(u.name, u.input, ctx)));
    const results: ToolResultBlock[] = uses.map((u, i) => {
      const o = outcomes[i]!;
      hooks.toolResult?.(u, o);
      toolCalls.push({ id: u.id, name: u.name, input: u.input, ok: o.ok, summary: o.summary });
      return { type: "tool_result", tool_use_id: u.id, content: o.content, ...(o.ok ? {} : { is_error: true }) };
    });
    hooks.toolResults?.(results);
    opts.messages.push({ role: "user", content: results });
    if (signal.aborted) throw signal.reason;
  }
}
