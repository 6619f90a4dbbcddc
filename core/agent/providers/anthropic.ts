import type Anthropic from "@anthropic-ai/sdk";
import { parseJson } from "../../protocol/json.ts";
import { normalizeError } from "../errors.ts";
import { Redactor } from "../redact.ts";
import { emptyUsage, type ModelEvent, type ModelProvider, type ModelRequest, type StopReason } from "../types.ts";

export interface AnthropicOptions {
  apiKey?: string;
  oauthToken?: string;
  baseURL?: string;
  timeoutMs: number;
}

const OAUTH_BETA = "oauth-2025-04-20";

function stopReason(r: string | null | undefined): StopReason {
  return r === "end_turn" || r === "tool_use" || r === "max_tokens" || r === "stop_sequence" ? r : "other";
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
    const tools = new Map<number, { id: string; name: string; json: string }>();
    try {
      const client = await this.sdk();
      const stream = await client.messages.create(
        {
          model: req.model,
          max_tokens: req.maxTokens,
          system: req.system,
          messages: req.messages as Anthropic.MessageParam[],
          ...(req.tools?.length
            ? {
                tools: req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema as Anthropic.Tool.InputSchema })),
                tool_choice: { type: req.toolChoice ?? "auto" },
              }
            : {}),
          ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
          stream: true,
        },
        { signal },
      );
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
          case "content_block_start":
            if (ev.content_block.type === "tool_use") {
              tools.set(ev.index, { id: ev.content_block.id, name: ev.content_block.name, json: "" });
            } else if (ev.content_block.type === "text" && ev.content_block.text) {
              yield { type: "text", delta: ev.content_block.text };
            }
            break;
          case "content_block_delta":
            if (ev.delta.type === "text_delta") yield { type: "text", delta: ev.delta.text };
            else if (ev.delta.type === "input_json_delta") {
              const t = tools.get(ev.index);
              if (t) t.json += ev.delta.partial_json;
            }
            break;
          case "content_block_stop": {
            const t = tools.get(ev.index);
            if (t) {
              tools.delete(ev.index);
              yield { type: "tool_use", id: t.id, name: t.name, input: parseToolJson(t.json) };
            }
            break;
          }
          case "message_delta":
            stop = stopReason(ev.delta.stop_reason);
            if (ev.usage.output_tokens != null) usage.outputTokens = ev.usage.output_tokens;
            if (ev.usage.input_tokens != null) usage.inputTokens = ev.usage.input_tokens;
            break;
          case "message_stop":
            break;
        }
      }
    } catch (err) {
      // Tokens already spent (the prompt, at least) are still billed: keep them for the ledger.
      throw Object.assign(normalizeError(err, this.name, this.redactor), { partialUsage: usage });
    }
    yield { type: "done", stopReason: stop, usage };
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
