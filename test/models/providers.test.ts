import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { AnthropicProvider, toAnthropicParams } from "../../core/agent/providers/anthropic.ts";
import { OpenAIProvider, toOpenAIMessages, toOpenAITools } from "../../core/agent/providers/openai.ts";
import type { ChatMessage, ModelEvent, ModelProvider } from "../../core/agent/types.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { type OpenAIStandIn, startOpenAIStandIn } from "../standins/openai.ts";
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
  {
    role: "assistant",
    content: [
      { type: "text", text: "looking" },
      { type: "tool_use", id: "t1", name: "lookup", input: { q: "x" } },
    ],
  },
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
      {
        type: "done",
        stopReason: "tool_use",
        usage: { inputTokens: 7, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0 },
        content: [
          { type: "text", text: "ab" },
          { type: "tool_use", id: "t2", name: "lookup", input: { q: "y" } },
        ],
      },
    ]);
    const body = claude.requests.at(-1)!.body;
    expect(body.system).toEqual([{ type: "text", text: "sys", cache_control: { type: "ephemeral" } }]);
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
      {
        type: "done",
        stopReason: "tool_use",
        usage: { inputTokens: 11, outputTokens: 4, cacheReadTokens: 0, cacheWriteTokens: 0 },
        content: [
          { type: "text", text: "hello" },
          { type: "tool_use", id: "c9", name: "lookup", input: { q: "z" } },
        ],
      },
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

const blocks = (...texts: [string, "stable" | "long" | "turn"][]) => texts.map(([text, stability]) => ({ text, stability }));
const turnOfHistory: ChatMessage[] = [
  { role: "user", content: [{ type: "text", text: "first question" }] },
  { role: "assistant", content: [{ type: "text", text: "first answer" }] },
  { role: "user", content: [{ type: "text", text: "second question" }] },
];

describe("AnthropicProvider requests", () => {
  test("lay out tools, stable then long system blocks, the history, and the turn's context after the owner's words, with at most four breakpoints", () => {
    const params = toAnthropicParams({
      model: "m",
      system: blocks(["time now", "turn"], ["personality", "stable"], ["reflections", "long"]),
      messages: turnOfHistory,
      maxTokens: 100,
      turnStart: 2,
      cacheMessages: true,
    });
    const cc = { type: "ephemeral" } as const;
    expect(params.system).toEqual([
      { type: "text", text: "personality", cache_control: cc },
      { type: "text", text: "reflections", cache_control: cc },
    ]);
    expect(params.messages[0]).toEqual({ role: "user", content: [{ type: "text", text: "first question", cache_control: cc }] });
    expect(params.messages[1]).toEqual({ role: "assistant", content: [{ type: "text", text: "first answer" }] });
    // The breakpoint ends with the owner's words: the next turn's history ends there too. The context follows, uncached.
    expect(params.messages[2]).toEqual({
      role: "user",
      content: [
        { type: "text", text: "second question", cache_control: cc },
        { type: "text", text: "<context>\ntime now\n</context>" },
      ],
    });
  });

  test("a later round marks the end of the round before (to read it) and its own end (to write it)", () => {
    const messages: ChatMessage[] = [
      ...turnOfHistory,
      { role: "assistant", content: [{ type: "tool_use", id: "a", name: "lookup", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "a", content: "one" }] },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "hm", signature: "sig" },
          { type: "tool_use", id: "b", name: "lookup", input: {} },
        ],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "b", content: "two" }] },
    ];
    const params = toAnthropicParams({ model: "m", system: "personality", messages, maxTokens: 100, turnStart: 2, cacheMessages: true });
    const marked = params.messages.flatMap((m, i) => ((m.content as { cache_control?: unknown }[]).some((b) => b.cache_control) ? [i] : []));
    expect(marked).toEqual([4, 6]);
    // The stored messages are left as they were.
    expect(JSON.stringify(messages)).not.toContain("cache_control");
  });

  test("a one-off call (observer, reflector) caches its system prompt only", () => {
    const params = toAnthropicParams({ model: "m", system: "extract", messages: turnOfHistory, maxTokens: 100 });
    expect(JSON.stringify(params.messages)).not.toContain("cache_control");
    expect(params.system).toEqual([{ type: "text", text: "extract", cache_control: { type: "ephemeral" } }]);
  });

  test("deferred tools go behind Anthropic's tool search; find_tools and use_tool stay home", () => {
    const params = toAnthropicParams({
      model: "m",
      system: "s",
      messages: turnOfHistory,
      maxTokens: 100,
      tools: [
        { name: "core", description: "d", inputSchema: {} },
        { name: "far", description: "d", inputSchema: {}, deferred: true },
        { name: "find_tools", description: "d", inputSchema: {}, finder: true },
      ],
    });
    expect(params.tools).toEqual([
      { name: "core", description: "d", input_schema: {} },
      { name: "far", description: "d", input_schema: {}, defer_loading: true },
      { type: "tool_search_tool_bm25_20251119", name: "tool_search_tool_bm25" },
    ] as never);
  });

  test("thinking adds its budget to max_tokens and drops a temperature", () => {
    const params = toAnthropicParams({ model: "m", system: "s", messages: turnOfHistory, maxTokens: 1000, temperature: 0.2, thinking: { budgetTokens: 2048 } });
    expect(params.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    expect(params.max_tokens).toBe(3048);
    expect((params as { temperature?: number }).temperature).toBeUndefined();
  });
});

describe("OpenAIProvider requests", () => {
  test("one system message of the stable and long blocks; the turn's context as a second part of the owner's message", () => {
    const sent = toOpenAIMessages({ system: blocks(["time now", "turn"], ["personality", "stable"], ["reflections", "long"]), messages: turnOfHistory, turnStart: 2 });
    expect(sent[0]).toEqual({ role: "system", content: "personality\n\nreflections" });
    expect(sent[1]).toEqual({ role: "user", content: "first question" });
    expect(sent[3]).toEqual({
      role: "user",
      content: [
        { type: "text", text: "second question" },
        { type: "text", text: "<context>\ntime now\n</context>" },
      ],
    });
  });

  test("thinking and Anthropic's server blocks are left out; deferred tools too, the finder stays", () => {
    const sent = toOpenAIMessages({
      system: "s",
      messages: [
        { role: "user", content: [{ type: "text", text: "q" }] },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "hm", signature: "sig" },
            { type: "server_tool_use", id: "s1", name: "tool_search_tool_bm25", input: { query: "x" } },
            { type: "text", text: "done" },
          ],
        },
      ],
    });
    expect(sent[2]).toEqual({ role: "assistant", content: "done" });
    const tools = toOpenAITools({
      tools: [
        { name: "core", description: "d", inputSchema: {} },
        { name: "far", description: "d", inputSchema: {}, deferred: true },
        { name: "find_tools", description: "d", inputSchema: {}, finder: true },
      ],
    });
    expect(tools.map((t) => t.function.name)).toEqual(["core", "find_tools"]);
  });

  test("cached prompt tokens are counted apart from the uncached ones", async () => {
    local.on(prompt("first question"), reply().text("a"), reply().text("b"));
    const p = new OpenAIProvider({ baseURL: local.url, timeoutMs: 5000 });
    await run(p, [{ role: "user", content: [{ type: "text", text: "first question" }] }]);
    const events = await run(p, [{ role: "user", content: [{ type: "text", text: "first question" }] }]);
    const done = events.at(-1) as Extract<ModelEvent, { type: "done" }>;
    // The same prompt again: the stand-in's prefix cache holds all of it.
    expect(done.usage.cacheReadTokens).toBeGreaterThan(0);
    expect(done.usage.inputTokens).toBeLessThan(done.usage.cacheReadTokens);
  });
});

describe("Stop reasons", () => {
  for (const [wire, ours] of [
    ["pause_turn", "pause_turn"],
    ["refusal", "refusal"],
    ["model_context_window_exceeded", "context_window"],
    ["max_tokens", "max_tokens"],
  ] as const) {
    test(`Anthropic's ${wire} is ${ours}`, async () => {
      claude.on(prompt("stop"), reply().text("partial").stopReason(wire));
      const events = await run(new AnthropicProvider({ apiKey: "k", baseURL: claude.url, timeoutMs: 5000 }), [{ role: "user", content: [{ type: "text", text: "stop" }] }]);
      expect(events.at(-1)).toMatchObject({ type: "done", stopReason: ours, content: [{ type: "text", text: "partial" }] });
    });
  }
});
