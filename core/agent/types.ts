/**
 * The neutral shape every provider speaks. Messages follow Anthropic's block
 * model (text, tool_use, tool_result, thinking); the OpenAI-compatible
 * provider maps it and skips what it cannot carry.
 */
export type TextBlock = { type: "text"; text: string };
export type ToolUseBlock = { type: "tool_use"; id: string; name: string; input: unknown };
export type ToolResultBlock = { type: "tool_result"; tool_use_id: string; content: string; is_error?: boolean };
/** The model's reasoning. Its signature proves it unmodified: it goes back to the API exactly as it came. */
export type ThinkingBlock = { type: "thinking"; thinking: string; signature: string };
/** Reasoning the API encrypted; passed back as it came, never shown. */
export type RedactedThinkingBlock = { type: "redacted_thinking"; data: string };
/** Anthropic's own tool search, run on its side: the query, then the tools it found. Passed back as they came; other providers skip them. */
export type ServerToolUseBlock = { type: "server_tool_use"; id: string; name: string; input: unknown };
export type ToolSearchResultBlock = {
  type: "tool_search_tool_result";
  tool_use_id: string;
  content: { type: string; tool_references?: { type: "tool_reference"; tool_name: string }[]; error_code?: string };
};
export type Block = TextBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | RedactedThinkingBlock | ServerToolUseBlock | ToolSearchResultBlock;

export interface ChatMessage {
  role: "user" | "assistant";
  content: Block[];
}

/**
 * How often a block of the system prompt changes, which decides where it
 * goes in a request: the model's prefix cache only helps up to the first
 * byte that differs from the last request, so the steadiest come first.
 * - `stable`: the personality and what only the owner's edits change.
 * - `long`: long-lived context that changes a few times a day (reflections,
 *   the conversation's compacted observations).
 * - `turn`: what changes every turn (relevant memories, the time, channel
 *   hints). It rides with the owner's newest message, after the history, so
 *   the history before it stays cached from one turn to the next.
 */
export type Stability = "stable" | "long" | "turn";

export interface SystemBlock {
  stability: Stability;
  text: string;
}

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the input object. */
  inputSchema: Record<string, unknown>;
  /** Not sent in full: the model finds it when it needs it (Anthropic's tool search, or find_tools). */
  deferred?: boolean;
  /** find_tools and use_tool: how a provider without a tool search of its own reaches deferred tools. */
  finder?: boolean;
}

export interface ModelRequest {
  model: string;
  /** A plain string is one stable block. */
  system: string | SystemBlock[];
  messages: ChatMessage[];
  tools?: ToolSpec[];
  /** Tokens the answer may take, thinking not included. */
  maxTokens: number;
  temperature?: number;
  /** "none" keeps the tools visible (history may hold tool calls) but forbids new calls. */
  toolChoice?: "auto" | "none";
  /**
   * Index of the owner's newest message, where this turn begins: the `turn`
   * blocks of the system prompt ride there, and the history before it is
   * cached for the next turn. Unset: `turn` blocks close the system prompt.
   */
  turnStart?: number;
  /** More rounds will follow with these messages as their prefix (the agent loop): cache the messages too, not only the system prompt. */
  cacheMessages?: boolean;
  /** Extended thinking: tokens the model may reason before it answers (providers that cannot think ignore it). */
  thinking?: { budgetTokens: number };
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/**
 * Why the model stopped: `pause_turn` (a long server-side step; send the
 * answer back to let it go on), `refusal` (its safety classifier ended the
 * answer), `context_window` (the conversation filled the model's window).
 */
export type StopReason = "end_turn" | "tool_use" | "max_tokens" | "stop_sequence" | "pause_turn" | "refusal" | "context_window" | "other";

export type ModelEvent =
  | { type: "text"; delta: string }
  | { type: "thinking"; delta: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  /** `content` is the whole answer in the order the model gave it, as it must go back in the next round. */
  | { type: "done"; stopReason: StopReason; usage: Usage; content: Block[]; costUsd?: number };

export interface ModelInfo {
  id: string;
  provider: ProviderName;
}

export type ProviderName = "anthropic" | "openai";

export interface ModelProvider {
  readonly name: ProviderName;
  /** Streams one model call. Throws a ModelCallError (or anything else) on failure. */
  stream(req: ModelRequest, signal: AbortSignal): AsyncIterable<ModelEvent>;
  /** Lists what the provider serves; used by `doctor` and GET /api/models. */
  listModels(signal: AbortSignal): Promise<string[]>;
}

export const emptyUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 });

/** A failure of one call to one provider, normalised across SDKs. */
export class ModelCallError extends Error {
  override name = "ModelCallError";
  constructor(
    message: string,
    readonly provider: ProviderName,
    readonly status: number | undefined,
    readonly retryable: boolean,
    /** Milliseconds the server asked us to wait, from retry-after / retry-after-ms. */
    readonly retryAfterMs: number | undefined,
    readonly kind: "rate_limited" | "overloaded" | "server" | "network" | "timeout" | "auth" | "bad_request" | "circuit_open" | "other",
  ) {
    super(message);
  }

  /** What the call had used before it failed, when the provider reported it. */
  partialUsage?: Usage;
}

/** One model call's tokens, as the router hands them to whoever keeps the books. */
export interface UsageRecord {
  role: string;
  provider: ProviderName;
  model: string;
  usage: Usage;
  conversationId?: string;
  /** The brain's turn, so a conversation shows what each answer cost. */
  turnId?: string;
  origin?: string;
}

/**
 * Where usage goes: the core's ledger (SQLite, daily budget), or on a remote
 * satellite an accumulator whose total travels back in the job's final status.
 */
export interface UsageSink {
  /** Records one call; returns its cost in USD (0 when unknown). */
  record(r: UsageRecord): number;
  /** Throws when background work may not spend more today. */
  assertWithinBudget(): void;
}

export type AgentLog = (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
