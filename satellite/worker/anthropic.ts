import Anthropic from "@anthropic-ai/sdk";
import type { AgentModel, AgentModelReply } from "./executors/agent.ts";

/**
 * The worker model on a remote satellite: the Anthropic SDK pointed at the
 * satellite's own key. Usage goes back in the job's final status and the core
 * records it in its ledger, like the brain's.
 */
export class AnthropicWorkerModel implements AgentModel {
  readonly recordsUsage = false;
  private client: Anthropic;

  constructor(opts: { apiKey?: string; oauthToken?: string; baseURL?: string; model: string; timeoutMs: number; maxRetries: number }) {
    this.model = opts.model;
    this.client = new Anthropic({
      apiKey: opts.oauthToken ? null : (opts.apiKey ?? null),
      authToken: opts.oauthToken ?? null,
      baseURL: opts.baseURL ?? "https://api.anthropic.com",
      maxRetries: opts.maxRetries,
      timeout: opts.timeoutMs,
      defaultHeaders: opts.oauthToken ? { "anthropic-beta": "oauth-2025-04-20" } : {},
    });
  }
  private model: string;

  async complete(req: Parameters<AgentModel["complete"]>[0], signal: AbortSignal): Promise<AgentModelReply> {
    const msg = await this.client.messages.create(
      {
        model: this.model,
        max_tokens: req.maxTokens,
        system: req.system,
        messages: req.messages as Anthropic.MessageParam[],
        ...(req.tools.length ? { tools: req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema as Anthropic.Tool.InputSchema })) } : {}),
      },
      { signal },
    );
    const text = msg.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("");
    const toolUses = msg.content.flatMap((b) => (b.type === "tool_use" ? [{ id: b.id, name: b.name, input: b.input }] : []));
    return {
      text,
      toolUses,
      stopReason: msg.stop_reason ?? "other",
      usage: {
        inputTokens: msg.usage.input_tokens ?? 0,
        outputTokens: msg.usage.output_tokens ?? 0,
        cacheReadTokens: msg.usage.cache_read_input_tokens ?? 0,
        cacheWriteTokens: msg.usage.cache_creation_input_tokens ?? 0,
      },
      model: this.model,
      provider: "anthropic",
    };
  }
}
