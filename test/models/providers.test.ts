import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { AnthropicProvider } from "../../core/agent/providers/anthropic.ts";
import { OpenAIProvider } from "../../core/agent/providers/openai.ts";
import type { ChatMessage, ModelEvent, ModelProvider } from "../../core/agent/types.ts";
import { startAnthropicStandIn, type AnthropicStandIn } from "../standins/anthropic.ts";
import { startOpenAIStandIn, type OpenAIStandIn } from "../standins/openai.ts";
import { afterTool, prompt, reply } from "../standins/script.ts";

let claude: AnthropicStandIn;
let local: OpenAIStandIn;
beforeAll(() => {
  claude = startAnthropicStandIn();
  local = startOpenAIStandIn();
});
afterEach(() => {
  claude.checkAndReset();
  local.checkAndReset();
});
afterAll(async () => {
  await claude.stop();
  await local.stop();
});

async function run(p: ModelProvider, messages: ChatMessage[]) {
  const out: ModelEvent[] = [];
  for await (const ev of p.stream(
    {
      model: "m",
      system: "sys",
      messages,
      maxTokens: 50,
      tools: [{ name: "lookup", description: "look up", inputSchema: { type: "object", properties: { q: { type: "string" } } } }],
    },
    new AbortController().signal,
  ))
    out.push(ev);
  return out;
}

// A conversation that already holds a tool round, so each provider must send calls and results back.
const withToolRound: ChatMessage[] = [
  { role: "user", content: [{ type: "text", text: "find x" }] },
  { role: "assistant", content: [{ type: "text", text: "looking" }, { type: "tool_use", id: "t1", name: "lookup", input: { q: "x" } }] },
  { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "x is 42" }] },
];

describe("AnthropicProvider", () => {
  test("streams text and tool calls and sends tool results back in Anthropic's block format", async () => {
    claude.on(afterTool("lookup"), reply().text("a", "b").tool("lookup", { q: "y" }, "t2").usage({ input: 7, output: 3 }));
    const p = new AnthropicProvider({ apiKey: "sk-test", baseURL: claude.url, timeoutMs: 5000 });
    const events = await run(p, withToolRound);
    expect(events).toEqual([
      { type: "text", delta: "a" },
      { type: "text", delta: "b" },
      { type: "tool_use", id: "t2", name: "lookup", input: { q: "y" } },
      { type: "done", stopReason: "tool_use", usage: { inputTokens: 7, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0 } },
    ]);
    const body = claude.requests.at(-1)!.body;
    expect(body.system).toBe("sys");
    expect(body.stream).toBe(true);
    expect(body.messages[2]).toEqual({ role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "x is 42" }] });
    expect(body.tools?.[0]?.name).toBe("lookup");
  });

  test("an OAuth token is sent as a bearer with the oauth beta header", async () => {
    claude.on(prompt("hi"), reply().text("hi"));
    const p = new AnthropicProvider({ oauthToken: "oauth-abc", baseURL: claude.url, timeoutMs: 5000 });
    await run(p, [{ role: "user", content: [{ type: "text", text: "hi" }] }]);
    const h = claude.requests.at(-1)!.headers;
    expect(h.authorization).toBe("Bearer oauth-abc");
    expect(h["anthropic-beta"]).toContain("oauth");
  });

  test("lists models", async () => {
    const p = new AnthropicProvider({ apiKey: "k", baseURL: claude.url, timeoutMs: 5000 });
    expect(await p.listModels(AbortSignal.timeout(5000))).toEqual(claude.models);
  });
});

describe("OpenAIProvider", () => {
  test("streams text and tool calls and maps tool rounds to assistant tool_calls + tool messages", async () => {
    local.on(afterTool("lookup"), reply().text("he", "llo").tool("lookup", { q: "z" }, "c9").usage({ input: 11, output: 4 }));
    const p = new OpenAIProvider({ baseURL: local.url, timeoutMs: 5000 });
    const events = await run(p, withToolRound);
    expect(events).toEqual([
      { type: "text", delta: "he" },
      { type: "text", delta: "llo" },
      { type: "tool_use", id: "c9", name: "lookup", input: { q: "z" } },
      { type: "done", stopReason: "tool_use", usage: { inputTokens: 11, outputTokens: 4, cacheReadTokens: 0, cacheWriteTokens: 0 } },
    ]);
    const sent = local.requests.at(-1)!.body.messages;
    expect(sent[0]).toEqual({ role: "system", content: "sys" });
    expect(sent[2]).toMatchObject({ role: "assistant", content: "looking", tool_calls: [{ id: "t1", type: "function", function: { name: "lookup", arguments: '{"q":"x"}' } }] });
    expect(sent[3]).toEqual({ role: "tool", tool_call_id: "t1", content: "x is 42" });
    expect(local.requests.at(-1)!.body.tools?.[0]?.function.name).toBe("lookup");
  });

  test("broken tool-call JSON reaches the tool layer marked invalid instead of crashing", async () => {
    local.on(prompt("q"), reply().toolRaw("lookup", '{"q": '));
    const events = await run(new OpenAIProvider({ baseURL: local.url, timeoutMs: 5000 }), [{ role: "user", content: [{ type: "text", text: "q" }] }]);
    expect(events[0]).toMatchObject({ type: "tool_use", name: "lookup", input: { __invalid_json: '{"q": ' } });
  });
});
