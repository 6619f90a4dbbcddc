import OpenAI from "openai";
import { parseJson } from "../../core/protocol/index.ts";
import type { AgentMessage, AgentModel, AgentModelReply } from "./executors/agent.ts";

type Msg = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/**
 * Block messages to chat-completions messages. The core has the same mapping
 * for its router; the satellite keeps its own copy because it may import
 * nothing from the core but the protocol.
 */
export function toChatMessages(system: string, messages: AgentMessage[]): Msg[] {
  const out: Msg[] = [{ role: "system", content: system }];
  for (const m of messages) {
    const text = m.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("");
    if (m.role === "assistant") {
      const calls = m.content.flatMap((b) =>
        b.type === "tool_use" ? [{ id: b.id, type: "function" as const, function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } }] : [],
      );
      out.push({ role: "assistant", content: text || null, ...(calls.length ? { tool_calls: calls } : {}) });
      continue;
    }
    for (const b of m.content) {
      if (b.type === "tool_result") out.push({ role: "tool", tool_call_id: b.tool_use_id, content: b.is_error ? `ERROR: ${b.content}` : b.content });
    }
    if (text) out.push({ role: "user", content: text });
  }
  return out;
}

function parseArgs(json: string): unknown {
  if (!json.trim()) return {};
  const parsed = parseJson(json);
  return parsed.ok ? parsed.value : { __invalid_json: json };
}

/**
 * The worker model on a remote satellite when it runs against an
 * OpenAI-compatible server (Ollama, vLLM, llama.cpp, OpenRouter). Usage goes
 * back in the job's final status, as with Anthropic.
 */
export class OpenAIWorkerModel implements AgentModel {
  readonly recordsUsage = false;
  private client: OpenAI;
  private model: string;

  constructor(opts: { baseURL: string; apiKey?: string; model: string; timeoutMs: number; maxRetries: number }) {
    this.model = opts.model;
    this.client = new OpenAI({
      apiKey: opts.apiKey ?? "not-needed",
      baseURL: opts.baseURL,
      organization: null,
      project: null,
      maxRetries: opts.maxRetries,
      timeout: opts.timeoutMs,
    });
  }

  async complete(req: Parameters<AgentModel["complete"]>[0], signal: AbortSignal): Promise<AgentModelReply> {
    const res = await this.client.chat.completions.create(
      {
        model: this.model,
        max_tokens: req.maxTokens,
        messages: toChatMessages(req.system, req.messages),
        ...(req.tools.length
          ? { tools: req.tools.map((t) => ({ type: "function" as const, function: { name: t.name, description: t.description, parameters: t.inputSchema } })) }
          : {}),
      },
      { signal },
    );
    const choice = res.choices[0];
    const calls = (choice?.message.tool_calls ?? []).flatMap((c, i) => (c.type === "function" ? [{ id: c.id || `call_${i}`, name: c.function.name, input: parseArgs(c.function.arguments) }] : []));
    return {
      text: choice?.message.content ?? "",
      toolUses: calls,
      stopReason: calls.length ? "tool_use" : choice?.finish_reason === "length" ? "max_tokens" : "end_turn",
      usage: {
        inputTokens: res.usage?.prompt_tokens ?? 0,
        outputTokens: res.usage?.completion_tokens ?? 0,
        cacheReadTokens: res.usage?.prompt_tokens_details?.cached_tokens ?? 0,
        cacheWriteTokens: 0,
      },
      model: this.model,
      provider: "openai",
    };
  }
}
