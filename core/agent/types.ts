/**
 * The neutral shape every provider speaks. Messages follow Anthropic's block
 * model (text, tool_use, tool_result); the OpenAI-compatible provider maps it.
 */
export type TextBlock = { type: "text"; text: string };
export type ToolUseBlock = { type: "tool_use"; id: string; name: string; input: unknown };
export type ToolResultBlock = { type: "tool_result"; tool_use_id: string; content: string; is_error?: boolean };
export type Block = TextBlock | ToolUseBlock | ToolResultBlock;

export interface ChatMessage {
  role: "user" | "assistant";
  content: Block[];
}

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the input object. */
  inputSchema: Record<string, unknown>;
}

export interface ModelRequest {
  model: string;
  system: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  maxTokens: number;
  temperature?: number;
  /** "none" keeps the tools visible (history may hold tool calls) but forbids new calls. */
  toolChoice?: "auto" | "none";
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export type StopReason = "end_turn" | "tool_use" | "max_tokens" | "stop_sequence" | "other";

export type ModelEvent =
  | { type: "text"; delta: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "done"; stopReason: StopReason; usage: Usage; costUsd?: number };

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
