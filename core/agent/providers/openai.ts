import type OpenAI from "openai";
import { layout } from "../cache.ts";
import { normalizeError } from "../errors.ts";
import { Redactor } from "../redact.ts";
import { type Block, emptyUsage, type ModelEvent, type ModelProvider, type ModelRequest, type StopReason } from "../types.ts";
import { parseToolJson } from "./anthropic.ts";

export interface OpenAIOptions {
  baseURL: string;
  apiKey?: string;
  timeoutMs: number;
}

type Msg = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/**
 * Block messages to chat-completions messages: tool results become `role:
 * "tool"` messages; thinking and Anthropic's server-side blocks have no
 * place here and are left out. The system message holds the stable and
 * long blocks, so servers that cache prefixes (vLLM, llama.cpp, OpenAI) hit
 * it; the turn's context follows the owner's newest words as a second text
 * part of that message.
 */
export function toOpenAIMessages(req: Pick<ModelRequest, "system" | "messages" | "turnStart">): Msg[] {
  const l = layout(req);
  const out: Msg[] = [];
  const system = l.system.map((b) => b.text.trim()).join("\n\n");
  if (system) out.push({ role: "system", content: system });
  for (const [i, m] of req.messages.entries()) {
    const texts = m.content.flatMap((b) => (b.type === "text" && b.text ? [b.text] : []));
    if (m.role === "assistant") {
      const calls = m.content.flatMap((b) =>
        b.type === "tool_use" ? [{ id: b.id, type: "function" as const, function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } }] : [],
      );
      if (!texts.length && !calls.length) continue;
      out.push({ role: "assistant", content: texts.join("") || null, ...(calls.length ? { tool_calls: calls } : {}) });
      continue;
    }
    for (const b of m.content) {
      if (b.type === "tool_result") {
        out.push({ role: "tool", tool_call_id: b.tool_use_id, content: b.is_error ? `ERROR: ${b.content}` : b.content });
      }
    }
    const text = texts.join("");
    if (i === l.turnAt && l.turnText !== undefined) {
      out.push({ role: "user", content: [...(text ? [{ type: "text" as const, text }] : []), { type: "text" as const, text: l.turnText }] });
    } else if (text) {
      out.push({ role: "user", content: text });
    }
  }
  return out;
}

/** Tool specs as functions; deferred ones stay out (find_tools and use_tool reach them), so the list, and the prefix, never change. */
export function toOpenAITools(req: Pick<ModelRequest, "tools">) {
  return (req.tools ?? [])
    .filter((t) => !t.deferred)
    .map((t) => ({ type: "function" as const, function: { name: t.name, description: t.description, parameters: t.inputSchema } }));
}

function stopReason(r: string | null | undefined): StopReason {
  if (r === "stop") return "end_turn";
  if (r === "tool_calls" || r === "function_call") return "tool_use";
  if (r === "length") return "max_tokens";
  if (r === "content_filter") return "refusal";
  return "other";
}

export class OpenAIProvider implements ModelProvider {
  readonly name = "openai" as const;
  private client?: Promise<OpenAI>;

  /** The key this provider holds never comes back in an error. */
  private redactor: Redactor;

  constructor(private opts: OpenAIOptions) {
    this.redactor = new Redactor([opts.apiKey]);
  }

  /** The SDK loads on first use, keeping it off the start-up path. */
  private sdk(): Promise<OpenAI> {
    const opts = this.opts;
    this.client ??= import("openai").then(
      ({ default: Sdk }) =>
        new Sdk({
          // Local servers (Ollama, llama.cpp) take any key; the SDK insists on one.
          apiKey: opts.apiKey ?? "not-needed",
          baseURL: opts.baseURL,
          organization: null,
          project: null,
          maxRetries: 0,
          timeout: opts.timeoutMs,
        }),
    );
    return this.client;
  }

  async *stream(req: ModelRequest, signal: AbortSignal): AsyncIterable<ModelEvent> {
    const usage = emptyUsage();
    let stop: StopReason = "other";
    const calls = new Map<number, { id: string; name: string; args: string }>();
    const tools = toOpenAITools(req);
    let text = "";
    try {
      const client = await this.sdk();
      const stream = await client.chat.completions.create(
        {
          model: req.model,
          max_tokens: req.maxTokens,
          messages: toOpenAIMessages(req),
          ...(tools.length ? { tools, tool_choice: req.toolChoice ?? "auto" } : {}),
          ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
          stream: true,
          stream_options: { include_usage: true },
        },
        { signal },
      );
      for await (const chunk of stream) {
        if (chunk.usage) {
          // prompt_tokens counts the cached ones too; the ledger prices those apart.
          const cached = chunk.usage.prompt_tokens_details?.cached_tokens ?? 0;
          usage.inputTokens = Math.max(0, (chunk.usage.prompt_tokens ?? 0) - cached);
          usage.outputTokens = chunk.usage.completion_tokens ?? 0;
          usage.cacheReadTokens = cached;
        }
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        const delta = choice.delta;
        if (delta?.content) {
          text += delta.content;
          yield { type: "text", delta: delta.content };
        }
        for (const tc of delta?.tool_calls ?? []) {
          const cur = calls.get(tc.index) ?? { id: "", name: "", args: "" };
          if (tc.id) cur.id = tc.id;
          if (tc.function?.name) cur.name += tc.function.name;
          if (tc.function?.arguments) cur.args += tc.function.arguments;
          calls.set(tc.index, cur);
        }
        if (choice.finish_reason) stop = stopReason(choice.finish_reason);
      }
    } catch (err) {
      // Tokens already spent (the prompt, at least) are still billed: keep them for the ledger.
      throw Object.assign(normalizeError(err, this.name, this.redactor), { partialUsage: usage });
    }
    const content: Block[] = text ? [{ type: "text", text }] : [];
    for (const [index, c] of [...calls.entries()].sort((a, b) => a[0] - b[0])) {
      const use = { type: "tool_use" as const, id: c.id || `call_${index}`, name: c.name, input: parseToolJson(c.args) };
      content.push(use);
      yield use;
    }
    if (calls.size && stop !== "max_tokens") stop = "tool_use";
    yield { type: "done", stopReason: stop, usage, content };
  }

  async listModels(signal: AbortSignal): Promise<string[]> {
    try {
      const ids: string[] = [];
      const client = await this.sdk();
      for await (const m of client.models.list({ signal, timeout: 10_000 })) ids.push(m.id);
      return ids;
    } catch (err) {
      throw normalizeError(err, this.name, this.redactor);
    }
  }
}
