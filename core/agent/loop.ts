import type { CallOptions, ModelRouter } from "./router.ts";
import type { BaseToolContext, ToolOutcome, ToolRegistry } from "./tools.ts";
import type { Block, ChatMessage, StopReason, SystemBlock, ToolResultBlock, ToolUseBlock } from "./types.ts";

/** Tool rounds a loop may take; the round after the last is answered without tools. */
export const MAX_TOOL_ROUNDS = 10;
const LAST_ROUND_NOTE = "You have used every tool round of this turn. Answer now with what you have, without calling tools.";
/** Below this many tokens left in a budget, another model call cannot say anything useful. */
const MIN_ROUND_TOKENS = 64;
/** A server-side step (tool search) may pause an answer this many times in one round before the loop stops waiting. */
const MAX_PAUSES = 5;
/** A tool call cut off at the output limit doubles the next round's limit, up to this. */
const MAX_ANSWER_TOKENS = 64_000;

export interface LoopUsage {
  /** Input billed at the full price: what no cache held. */
  inputTokens: number;
  outputTokens: number;
  /** Input read from the provider's prompt cache (Anthropic bills it at a tenth)... */
  cacheReadTokens: number;
  /** ...and written to it (at 1.25×), for the next rounds and turns to read. */
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
  /** The model's reasoning as it streams: for the console, never for a reply on a chat platform. */
  thinking?(delta: string): void;
  /** A round's complete assistant message (thinking, text, tool calls, in the model's order), before its tools run. */
  assistant?(content: Block[], round: { model: string | undefined; index: number }): void;
  toolUse?(use: ToolUseBlock): void;
  toolResult?(use: ToolUseBlock, outcome: ToolOutcome): void;
  /** The round's tool results, as they go back to the model. */
  toolResults?(results: ToolResultBlock[]): void;
}

export interface LoopOptions<C extends BaseToolContext> {
  router: Pick<ModelRouter, "stream">;
  call: CallOptions & { signal: AbortSignal };
  /** The system prompt of each round; keep it the same across a turn's rounds, or their cache misses. */
  system: (round: number) => string | SystemBlock[] | Promise<string | SystemBlock[]>;
  /** The conversation so far, ending with the message that starts this turn; the loop appends its rounds to it. */
  messages: ChatMessage[];
  tools?: ToolRegistry<C>;
  /** What each tool call gets besides the signal. */
  context?: Omit<C, "signal">;
  maxRounds?: number;
  /** Tokens each answer may take (thinking comes on top). */
  maxTokens?: number;
  /** Total tokens (input, cached or not, and output, across rounds) the loop may spend; past it, it stops with what it has. */
  tokenBudget?: number;
  hooks?: LoopHooks;
  /** Accumulators the caller keeps, so a loop that throws still tells what it spent and called. */
  usage?: LoopUsage;
  toolCalls?: ToolCallRecord[];
}

/**
 * How the loop ended: `answered`; `budget` (the token budget ran out);
 * `max_tokens` (the answer hit the output limit and was cut); `refusal` (the
 * model's safety classifier stopped it); `context_window` (the conversation
 * filled the model's window); `paused` (a server-side step kept pausing).
 */
export type LoopStop = "answered" | "budget" | "max_tokens" | "refusal" | "context_window" | "paused";

export interface LoopResult {
  /** Every round's text, in order. */
  text: string;
  /** The last round's text: the answer of a job. */
  finalText: string;
  toolCalls: ToolCallRecord[];
  usage: LoopUsage;
  rounds: number;
  stop: LoopStop;
}

export const emptyLoopUsage = (): LoopUsage => ({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0, modelCalls: 0, model: null });

/** Everything a loop's calls have cost in tokens, cached or not. */
export const spentTokens = (u: LoopUsage) => u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens + u.outputTokens;

const STOPS: Partial<Record<StopReason, LoopStop>> = { max_tokens: "max_tokens", refusal: "refusal", context_window: "context_window", pause_turn: "paused" };

/** The last round's note rides after the tool results, in this request only: the system prompt, and the cache behind it, stay as they were. */
function withNote(messages: ChatMessage[]): ChatMessage[] {
  const last = messages.at(-1);
  if (last?.role !== "user") return messages;
  return [...messages.slice(0, -1), { role: "user", content: [...last.content, { type: "text", text: LAST_ROUND_NOTE }] }];
}

/**
 * The agent loop both binaries run: a model call, the tools it asked for (in
 * parallel, errors as results), their results back to the model, up to
 * `maxRounds` tool rounds and then one answer without tools. Brain turns,
 * agent jobs and (next) agent tasks and companions all go through here; the
 * router underneath retries, falls back and trips breakers.
 *
 * Every request of a turn starts with the same bytes as the one before it
 * (the system prompt is the same, messages are only appended), so the
 * provider's prefix cache serves each round after the first.
 */
export async function runLoop<C extends BaseToolContext>(opts: LoopOptions<C>): Promise<LoopResult> {
  const maxRounds = opts.maxRounds ?? MAX_TOOL_ROUNDS;
  const { signal } = opts.call;
  const hooks = opts.hooks ?? {};
  const usage = opts.usage ?? emptyLoopUsage();
  const toolCalls = opts.toolCalls ?? [];
  const turnStart = Math.max(0, opts.messages.length - 1);
  let answerTokens = opts.maxTokens ?? 8192;
  let text = "";
  let finalText = "";

  for (let round = 0; ; round++) {
    const last = round >= maxRounds;
    let maxTokens = answerTokens;
    if (opts.tokenBudget !== undefined) {
      const left = opts.tokenBudget - spentTokens(usage);
      if (left < MIN_ROUND_TOKENS) return { text, finalText, toolCalls, usage, rounds: round, stop: "budget" };
      maxTokens = Math.min(maxTokens, left);
    }
    const system = await opts.system(round);
    const specs = opts.tools?.specs() ?? [];
    const messages = last && specs.length ? withNote(opts.messages) : opts.messages;
    let roundText = "";
    let content: Block[] = [];
    let stop: StopReason = "other";
    let model: string | undefined;
    for (let pause = 0; ; pause++) {
      // A paused answer goes back as it is, and the model carries on with it.
      const sent = pause ? [...messages, { role: "assistant" as const, content }] : messages;
      for await (const ev of opts.router.stream(
        {
          system,
          messages: sent,
          ...(specs.length ? { tools: specs, toolChoice: last ? ("none" as const) : ("auto" as const) } : {}),
          maxTokens,
          turnStart,
          cacheMessages: true,
        },
        opts.call,
      )) {
        if (ev.type === "model") {
          model = ev.ref;
          hooks.model?.(ev.ref);
        } else if (ev.type === "text") {
          roundText += ev.delta;
          hooks.text?.(ev.delta);
        } else if (ev.type === "thinking") {
          hooks.thinking?.(ev.delta);
        } else if (ev.type === "done") {
          usage.inputTokens += ev.usage.inputTokens;
          usage.outputTokens += ev.usage.outputTokens;
          usage.cacheReadTokens += ev.usage.cacheReadTokens;
          usage.cacheWriteTokens += ev.usage.cacheWriteTokens;
          usage.costUsd += ev.costUsd ?? 0;
          usage.modelCalls++;
          usage.model = model ?? null;
          content = pause ? [...content, ...ev.content] : ev.content;
          stop = ev.stopReason;
        }
      }
      // A stream cut by the caller's abort can end without an error: the round did not finish.
      if (signal.aborted) throw signal.reason;
      if (stop !== "pause_turn" || pause + 1 >= MAX_PAUSES) break;
    }
    if (last) content = content.filter((b) => b.type !== "tool_use");
    // Cut off at the output limit in the middle of a tool call: its input is incomplete, so it does not run.
    const cut = stop === "max_tokens" && content.at(-1)?.type === "tool_use" ? (content.at(-1) as ToolUseBlock) : undefined;
    if (cut) content = [...content.slice(0, -1), { ...cut, input: {} }];
    const uses = content.filter((b): b is ToolUseBlock => b.type === "tool_use");
    hooks.assistant?.(content, { model, index: round });
    text += roundText;
    finalText = roundText;
    const ended = STOPS[stop];
    if (ended === "refusal" || ended === "context_window") return { text, finalText, toolCalls, usage, rounds: round + 1, stop: ended };
    if (!uses.length || !opts.tools) return { text, finalText, toolCalls, usage, rounds: round + 1, stop: ended ?? "answered" };
    opts.messages.push({ role: "assistant", content });

    for (const use of uses) hooks.toolUse?.(use);
    const tools = opts.tools;
    const ctx = { ...opts.context, signal } as C;
    const outcomes = await Promise.all(
      uses.map((u): ToolOutcome | Promise<ToolOutcome> => {
        if (u.id !== cut?.id) return tools.execute(u.name, u.input, ctx);
        const message = `This call was cut off at the output limit (${maxTokens} tokens) before its input was complete, so it did not run. The next answer may be twice as long: call it again, with a shorter input if you can.`;
        return { ok: false, content: message, summary: "cut off at the output limit; not run" };
      }),
    );
    if (cut) answerTokens = Math.min(MAX_ANSWER_TOKENS, answerTokens * 2);
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
