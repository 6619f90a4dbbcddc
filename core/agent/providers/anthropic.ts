import type Anthropic from "@anthropic-ai/sdk";
import { parseJson } from "../../protocol/json.ts";
import { cacheableIndex, cachePlan, layout, withTurnText } from "../cache.ts";
import { normalizeError } from "../errors.ts";
import { Redactor } from "../redact.ts";
import { type Block, emptyUsage, type ModelEvent, type ModelProvider, type ModelRequest, type StopReason, type ToolSearchResultBlock } from "../types.ts";

export interface AnthropicOptions {
  apiKey?: string;
  oauthToken?: string;
  baseURL?: string;
  timeoutMs: number;
}

const OAUTH_BETA = "oauth-2025-04-20";
/** Anthropic's own tool search over deferred tools (BM25 over names and descriptions), run on its side. */
const TOOL_SEARCH = { type: "tool_search_tool_bm25_20251119", name: "tool_search_tool_bm25" } as const;
const EPHEMERAL = { type: "ephemeral" } as const;

const STOP_REASONS: Record<string, StopReason> = {
  end_turn: "end_turn",
  tool_use: "tool_use",
  max_tokens: "max_tokens",
  stop_sequence: "stop_sequence",
  pause_turn: "pause_turn",
  refusal: "refusal",
  model_context_window_exceeded: "context_window",
};
const stopReason = (r: string | null | undefined): StopReason => (r ? (STOP_REASONS[r] ?? "other") : "other");

/**
 * The Messages API body for a request: tools, then the system blocks, then
 * the messages (Anthropic renders them in that order), with cache
 * breakpoints where `cachePlan` puts them, deferred tools behind the tool
 * search, and the turn's context after the owner's newest words.
 */
export function toAnthropicParams(req: ModelRequest): Anthropic.MessageCreateParamsStreaming {
  const l = layout(req);
  const plan = cachePlan(l, req);
  const system = l.system.map((b, i) => ({ type: "text" as const, text: b.text, ...(plan.system.includes(i) ? { cache_control: EPHEMERAL } : {}) }));
  // Marks go on the messages as stored, before the turn's context joins the owner's words: the next turn's history ends there.
  const marked = req.messages.map((m, i) => {
    const content = m.content.filter((b) => !(b.type === "text" && b.text === ""));
    const mark = plan.messages.includes(i) ? cacheableIndex(content) : -1;
    // The cache mark is wire-only: it rides on a copy, never on the stored block.
    return { role: m.role, content: content.map((b, j) => (j === mark ? (Object.assign({ cache_control: EPHEMERAL }, b) as Block) : b)) };
  });
  const messages = withTurnText(marked, l);
  const specs = (req.tools ?? []).filter((t) => !t.finder);
  const tools: unknown[] = specs.map((t) => ({
    name: t.name,
    description: t.description,
    input_schema: t.inputSchema,
    ...(t.deferred ? { defer_loading: true } : {}),
  }));
  if (specs.some((t) => t.deferred)) tools.push(TOOL_SEARCH);
  const budget = req.thinking?.budgetTokens;
  return {
    model: req.model,
    max_tokens: req.maxTokens + (budget ?? 0),
    ...(system.length ? { system } : {}),
    messages: messages as Anthropic.MessageParam[],
    ...(tools.length ? { tools: tools as Anthropic.ToolUnion[], tool_choice: { type: req.toolChoice ?? "auto" } } : {}),
    ...(budget ? { thinking: { type: "enabled", budget_tokens: budget } } : {}),
    // Thinking takes no temperature but the default.
    ...(req.temperature !== undefined && !budget ? { temperature: req.temperature } : {}),
    stream: true,
  };
}

type Building =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "redacted_thinking"; data: string }
  | { type: "tool_use" | "server_tool_use"; id: string; name: string; json: string; input: unknown }
  | { type: "tool_search_tool_result"; block: ToolSearchResultBlock };

function finished(b: Building): Block {
  switch (b.type) {
    case "tool_use":
    case "server_tool_use":
      return { type: b.type, id: b.id, name: b.name, input: b.json ? parseToolJson(b.json) : (b.input ?? {}) };
    case "tool_search_tool_result":
      return b.block;
    default:
      return b;
  }
}

export class AnthropicProvider implements ModelProvider {
  readonly name = "anthropic" as const;
  private client?: Promise<Anthropic>;

  /** The key this provider holds never comes back in an error. */
  private redactor: Redactor;

  constructor(private opts: AnthropicOptions) {
    this.redactor = new Redactor([opts.apiKey, opts.oauthToken]);
  }

  /** The SDK loads on first use, keeping it off the start-up path. */
  private sdk(): Promise<Anthropic> {
    const opts = this.opts;
    this.client ??= import("@anthropic-ai/sdk").then(
      ({ default: Sdk }) =>
        // Every option is passed explicitly so the SDK never falls back to its own env lookups.
        new Sdk({
          apiKey: opts.oauthToken ? null : (opts.apiKey ?? null),
          authToken: opts.oauthToken ?? null,
          baseURL: opts.baseURL ?? "https://api.anthropic.com",
          maxRetries: 0, // the router retries, with its own backoff and fallback
          timeout: opts.timeoutMs,
          defaultHeaders: opts.oauthToken ? { "anthropic-beta": OAUTH_BETA } : {},
          // Spans cost ~100 µs a call and would read ANTHROPIC_OPEN_TELEMETRY* from the environment.
          openTelemetry: false,
        }),
    );
    return this.client;
  }

  async *stream(req: ModelRequest, signal: AbortSignal): AsyncIterable<ModelEvent> {
    const usage = emptyUsage();
    let stop: StopReason = "other";
    const blocks = new Map<number, Building>();
    try {
      const client = await this.sdk();
      const stream = await client.messages.create(toAnthropicParams(req), { signal });
      for await (const ev of stream) {
        switch (ev.type) {
          case "message_start": {
            const u = ev.message.usage;
            usage.inputTokens = u.input_tokens ?? 0;
            usage.outputTokens = u.output_tokens ?? 0;
            usage.cacheReadTokens = u.cache_read_input_tokens ?? 0;
            usage.cacheWriteTokens = u.cache_creation_input_tokens ?? 0;
            break;
          }
          case "content_block_start": {
            const b = ev.content_block;
            if (b.type === "text") {
              blocks.set(ev.index, { type: "text", text: b.text });
              if (b.text) yield { type: "text", delta: b.text };
            } else if (b.type === "thinking") {
              blocks.set(ev.index, { type: "thinking", thinking: b.thinking, signature: b.signature ?? "" });
              if (b.thinking) yield { type: "thinking", delta: b.thinking };
            } else if (b.type === "redacted_thinking") {
              blocks.set(ev.index, { type: "redacted_thinking", data: b.data });
            } else if (b.type === "tool_use" || b.type === "server_tool_use") {
              blocks.set(ev.index, { type: b.type, id: b.id, name: b.name, json: "", input: b.input });
            } else if (b.type === "tool_search_tool_result") {
              const content = b.content as ToolSearchResultBlock["content"];
              blocks.set(ev.index, { type: "tool_search_tool_result", block: { type: "tool_search_tool_result", tool_use_id: b.tool_use_id, content } });
            }
            break;
          }
          case "content_block_delta": {
            const b = blocks.get(ev.index);
            const d = ev.delta;
            if (d.type === "text_delta" && b?.type === "text") {
              b.text += d.text;
              yield { type: "text", delta: d.text };
            } else if (d.type === "thinking_delta" && b?.type === "thinking") {
              b.thinking += d.thinking;
              yield { type: "thinking", delta: d.thinking };
            } else if (d.type === "signature_delta" && b?.type === "thinking") {
              b.signature = d.signature;
            } else if (d.type === "input_json_delta" && (b?.type === "tool_use" || b?.type === "server_tool_use")) {
              b.json += d.partial_json;
            }
            break;
          }
          case "content_block_stop": {
            const b = blocks.get(ev.index);
            if (b?.type === "tool_use") {
              const done = finished(b) as Extract<Block, { type: "tool_use" }>;
              yield { type: "tool_use", id: done.id, name: done.name, input: done.input };
            }
            break;
          }
          case "message_delta": {
            stop = stopReason(ev.delta.stop_reason);
            // The counts here are cumulative; a server-side step (tool search) adds to the input.
            const u = ev.usage;
            if (u.output_tokens != null) usage.outputTokens = u.output_tokens;
            if (u.input_tokens != null) usage.inputTokens = u.input_tokens;
            if (u.cache_read_input_tokens != null) usage.cacheReadTokens = u.cache_read_input_tokens;
            if (u.cache_creation_input_tokens != null) usage.cacheWriteTokens = u.cache_creation_input_tokens;
            break;
          }
          case "message_stop":
            break;
        }
      }
    } catch (err) {
      // Tokens already spent (the prompt, at least) are still billed: keep them for the ledger.
      throw Object.assign(normalizeError(err, this.name, this.redactor), { partialUsage: usage });
    }
    const content = [...blocks.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, b]) => finished(b))
      .filter((b) => !(b.type === "text" && b.text === ""));
    yield { type: "done", stopReason: stop, usage, content };
  }

  async listModels(signal: AbortSignal): Promise<string[]> {
    try {
      const client = await this.sdk();
      const page = await client.models.list({ limit: 100 }, { signal, timeout: 10_000 });
      return page.data.map((m) => m.id);
    } catch (err) {
      throw normalizeError(err, this.name, this.redactor);
    }
  }
}

/** A tool call whose JSON is broken still reaches the tool layer, which reports it to the model. */
export function parseToolJson(json: string): unknown {
  if (json.trim() === "") return {};
  const parsed = parseJson(json);
  return parsed.ok ? parsed.value : { __invalid_json: json };
}
