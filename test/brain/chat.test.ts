import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { makeApp, readSse } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, and, firstRound, prompt, reply, toolChoice } from "../standins/script.ts";

let model: AnthropicStandIn;
let h: Awaited<ReturnType<typeof makeApp>>;

beforeAll(async () => {
  model = startAnthropicStandIn();
  h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url });
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await h.close();
  await model.stop();
});

describe("POST /api/chat/stream", () => {
  test("streams named events in order: conversation, text deltas, done", async () => {
    model.on(prompt("hi"), reply().text("Hel", "lo ", "there").usage({ input: 100, output: 20 }));
    const res = await h.request("/api/chat/stream", { method: "POST", json: { message: "hi" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("x-trace-id")).toMatch(/^[0-9a-f]{32}$/);
    const events = await readSse(res);
    expect(events.map((e) => e.event)).toEqual(["conversation", "text", "text", "text", "done"]);
    expect(events.map((e) => Number(e.id))).toEqual([1, 2, 3, 4, 5]);
    expect(
      events
        .slice(1, 4)
        .map((e) => e.data.delta)
        .join(""),
    ).toBe("Hello there");
    const done = events.at(-1)!.data;
    expect(done.conversationId).toBe(events[0]!.data.id);
    expect(done.usage.inputTokens).toBe(100);
    expect(done.usage.outputTokens).toBe(20);
    expect(done.usage.costUsd).toBeCloseTo((100 * 3 + 20 * 15) / 1e6, 9);
  });
});

import { Type } from "@sinclair/typebox";
import { defineTool } from "../../core/brain/tools.ts";

describe("the agent loop", () => {
  test("runs a real tool, feeds its result back, and stores the whole turn", async () => {
    const calls: number[][] = [];
    const off = h.s.tools.register(
      defineTool({
        name: "add",
        description: "add two numbers",
        input: Type.Object({ a: Type.Number(), b: Type.Number() }),
        run: ({ a, b }) => {
          calls.push([a, b]);
          return { sum: a + b };
        },
      }),
    );
    try {
      model.on(and(prompt("2+40?"), firstRound), reply().text("Let me add.").tool("add", { a: 2, b: 40 }, "tu1"));
      model.on(afterTool("add"), reply().text("It is 42."));
      const events = await readSse(await h.request("/api/chat/stream", { method: "POST", json: { message: "2+40?" } }));
      expect(events.map((e) => e.event)).toEqual(["conversation", "text", "tool_use", "tool_result", "text", "done"]);
      expect(events[2]!.data).toEqual({ id: "tu1", name: "add", input: { a: 2, b: 40 } });
      expect(events[3]!.data).toMatchObject({ id: "tu1", ok: true });
      expect(events[3]!.data.summary).toContain("42");
      expect(calls).toEqual([[2, 40]]);
      // The model saw the tool result on its second call.
      const second = model.requests.at(-1)!.body.messages.at(-1)!;
      expect(second.role).toBe("user");
      const result = (second.content as { type: string; content: string }[])[0]!;
      expect(result.type).toBe("tool_result");
      expect(JSON.parse(result.content)).toEqual({ sum: 42 });

      const conv = (await (await h.request(`/api/conversations/${events[0]!.data.id}`)).json()) as any;
      expect(conv.messages.map((m: any) => m.role)).toEqual(["user", "assistant", "tool", "assistant"]);
      expect(conv.messages[1].content[1]).toEqual({ type: "tool_use", id: "tu1", name: "add", input: { a: 2, b: 40 } });
      expect(conv.messages[2].content[0]).toMatchObject({ type: "tool_result", tool_use_id: "tu1" });
      expect(conv.messages[3].content[0].text).toBe("It is 42.");
    } finally {
      off();
    }
  });

  test("a tool that throws becomes an error result the model sees; the turn goes on", async () => {
    const off = h.s.tools.register(
      defineTool({
        name: "explode",
        description: "always fails",
        input: Type.Object({}),
        run: () => {
          throw new Error("disk on fire");
        },
      }),
    );
    try {
      model.on(and(prompt("try it"), firstRound), reply().tool("explode", {}, "x1"));
      model.on(afterTool("explode"), reply().text("The tool failed: disk on fire."));
      const res = await h.request("/api/chat", { method: "POST", json: { message: "try it" } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as any;
      expect(body.toolCalls[0]).toMatchObject({ name: "explode", ok: false });
      expect(body.toolCalls[0].summary).toContain("disk on fire");
      const sent = model.requests.at(-1)!.body.messages.at(-1)!.content as any[];
      expect(sent[0]).toMatchObject({ type: "tool_result", tool_use_id: "x1", is_error: true });
      expect(body.text).toBe("The tool failed: disk on fire.");
    } finally {
      off();
    }
  });

  test("invalid tool input and unknown tools are reported to the model, never run", async () => {
    let ran = false;
    const off = h.s.tools.register(defineTool({ name: "strict", description: "needs n", input: Type.Object({ n: Type.Integer({ minimum: 1 }) }), run: () => (ran = true) }));
    try {
      model.on(and(prompt("go"), firstRound), reply().tool("strict", { n: "lots" }, "s1").tool("nope", {}, "s2"));
      model.on(afterTool("strict"), reply().text("ok"));
      const body = (await (await h.request("/api/chat", { method: "POST", json: { message: "go" } })).json()) as any;
      expect(ran).toBe(false);
      expect(body.toolCalls[0].ok).toBe(false);
      expect(body.toolCalls[0].summary).toContain("/n");
      expect(body.toolCalls[1].summary).toContain('unknown tool "nope"');
    } finally {
      off();
    }
  });

  test("stops after 10 tool rounds and asks for a final answer without tools", async () => {
    let n = 0;
    const off = h.s.tools.register(defineTool({ name: "again", description: "loop", input: Type.Object({}), run: () => ++n }));
    try {
      // A model that always wants another round while it may; the last call must forbid tools.
      model.always(and(prompt("loop forever"), toolChoice("auto")), () => reply().tool("again", {}));
      model.on(and(prompt("loop forever"), toolChoice("none")), reply().text("Done looping."));
      const body = (await (await h.request("/api/chat", { method: "POST", json: { message: "loop forever" } })).json()) as any;
      expect(n).toBe(10);
      expect(body.toolCalls.length).toBe(10);
      expect(body.text).toBe("Done looping.");
      const reqs = model.requests;
      expect(reqs.length).toBe(11);
      expect(reqs.at(-1)!.body.tool_choice).toEqual({ type: "none" });
      expect(reqs.slice(0, 10).every((r) => r.body.tool_choice?.type === "auto")).toBe(true);
    } finally {
      off();
    }
  });

  test("a second request on a busy conversation gets 409 and never interleaves", async () => {
    model.on(prompt("start"), reply().text("Started."));
    const first = (await (await h.request("/api/chat", { method: "POST", json: { message: "start" } })).json()) as any;
    const id = first.conversationId;
    let answer!: () => void;
    model.on(
      prompt("one"),
      reply()
        .wait(new Promise<void>((r) => (answer = r)))
        .text("slow ", "answer"),
    );
    const a = h.request("/api/chat", { method: "POST", json: { message: "one", conversationId: id } });
    await waitFor("the model to be asked", () => model.requests.length === 2);
    const b = await h.request("/api/chat", { method: "POST", json: { message: "two", conversationId: id } });
    expect(b.status).toBe(409);
    expect(((await b.json()) as any).error.code).toBe("conversation_busy");
    answer();
    expect((await a).status).toBe(200);
    const conv = (await (await h.request(`/api/conversations/${id}`)).json()) as any;
    const texts = conv.messages.map((m: any) => `${m.role}:${m.content.map((c: any) => c.text).join("")}`);
    expect(texts).toEqual(["user:start", "assistant:Started.", "user:one", "assistant:slow answer"]);
  });

  test("a model failure mid-answer is reported as an error event and what was said is kept", async () => {
    model.on(prompt("fail please"), reply().text("par", "tial", "never").streamError(2));
    const events = await readSse(await h.request("/api/chat/stream", { method: "POST", json: { message: "fail please" } }));
    expect(events.map((e) => e.event)).toEqual(["conversation", "text", "text", "error", "done"]);
    expect(events[3]!.data.code).toBe("model_stream_interrupted");
    const conv = (await (await h.request(`/api/conversations/${events[0]!.data.id}`)).json()) as any;
    const last = conv.messages.at(-1);
    expect(last.content).toEqual([{ type: "text", text: "partial" }]);
    expect(last.error.code).toBe("model_stream_interrupted");
  });

  test("stopped while the model streams, the turn ends 'stopped' and keeps what was said", async () => {
    model.on(prompt("talk slowly"), reply().text("The first half ").hang());
    const turn = h.s.brain.start({ message: "talk slowly" });
    await waitFor("the first words", () => turn.events.some((e) => e.event === "text"));
    expect(h.s.brain.stop(turn.conversationId)).toBe(true);
    const r = await turn.done;
    expect(r.error?.code).toBe("stopped");
    expect(turn.events.map((e) => e.event)).toEqual(["conversation", "text", "error", "done"]);
    const last = h.s.conversations.messages(turn.conversationId).at(-1)!;
    expect(last.content).toEqual([{ type: "text", text: "The first half " }]);
    expect(last.error?.code).toBe("stopped");
  });
});

describe("the daily budget", () => {
  test("once spent, chat still answers and says so; background work is refused", async () => {
    const b = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url, DAILY_BUDGET_USD: "0.01" });
    try {
      model.on(prompt("spend"), reply().text("expensive").usage({ input: 10_000, output: 0 }));
      model.on(prompt("and now?"), reply().text("Still here."));
      const first = (await (await b.request("/api/chat", { method: "POST", json: { message: "spend" } })).json()) as any;
      expect(first.notices).toEqual([]);
      const events = await readSse(await b.request("/api/chat/stream", { method: "POST", json: { message: "and now?" } }));
      const notice = events.find((e) => e.event === "notice");
      expect(notice?.data.code).toBe("budget_exceeded");
      expect(events.at(-1)!.event).toBe("done");
      expect(events.some((e) => e.event === "text")).toBe(true);
      const usage = (await (await b.request("/api/usage")).json()) as any;
      expect(usage.budget.exceeded).toBe(true);
      const health = (await (await b.request("/api/system/health")).json()) as any;
      expect(health.components.budget.status).toBe("degraded");
      let refused: { code?: string } | undefined;
      try {
        for await (const _ of b.s.models.router.stream(
          { system: "", messages: [{ role: "user", content: [{ type: "text", text: "x" }] }], maxTokens: 10 },
          { role: "worker", background: true },
        ));
      } catch (e) {
        refused = e as { code?: string };
      }
      expect(refused?.code).toBe("budget_exceeded");
    } finally {
      await b.close();
    }
  });
});
