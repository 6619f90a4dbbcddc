import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { makeApp, readSse } from "../helpers/app.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, and, firstRound, prompt, reply } from "../standins/script.ts";

let model: AnthropicStandIn;
let h: Awaited<ReturnType<typeof makeApp>>;

beforeAll(async () => {
  model = startAnthropicStandIn();
  h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url, THINKING_AGENT: "2048" });
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await h.close();
  await model.stop();
});

const conversation = async (id: string) => (await (await h.request(`/api/conversations/${id}`)).json()) as any;

describe("Extended thinking", () => {
  test("streams to the console, is stored with its signature, goes back unchanged in the next round, and stays out of the reply's text", async () => {
    model.on(
      and(prompt("What time is it in London?"), firstRound),
      reply().thinking("The owner wants London time; ask the clock.").text("Let me look.").tool("current_time", { timeZone: "Europe/London" }),
    );
    model.on(afterTool("current_time"), reply().thinking("I have it now.").text("It is teatime."));
    const events = await readSse(await h.request("/api/chat/stream", { method: "POST", json: { message: "What time is it in London?" } }));
    expect(
      events
        .filter((e) => e.event === "thinking")
        .map((e) => e.data.delta)
        .join(""),
    ).toBe("The owner wants London time; ask the clock.I have it now.");
    expect(
      events
        .filter((e) => e.event === "text")
        .map((e) => e.data.delta)
        .join(""),
    ).toBe("Let me look.It is teatime.");
    expect(events.at(-1)!.event).toBe("done");

    const [first, second] = model.requests;
    expect(first!.body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    expect(first!.body.max_tokens).toBe(8192 + 2048);
    // The tool round carries the thinking block first, signature intact (the stand-in refuses anything else).
    const assistant = second!.body.messages.at(-2)!.content as any[];
    expect(assistant[0]).toMatchObject({ type: "thinking", thinking: "The owner wants London time; ask the clock." });
    expect(assistant[0].signature).toBeTruthy();

    const conv = await conversation(events[0]!.data.id);
    expect(conv.messages[1].content[0]).toEqual(assistant[0]);
    // A chat platform sends the turn's text: never the thinking.
    model.on(prompt("And in Tokyo?"), reply().thinking("Tokyo is UTC+9.").text("Late evening."));
    const res = (await (await h.request("/api/chat", { method: "POST", json: { message: "And in Tokyo?", conversationId: conv.id } })).json()) as any;
    expect(res.text).toBe("Late evening.");
    // The next turn sends the earlier thinking back as it was, and the API accepts it.
    expect(JSON.stringify(model.requests[2]!.body.messages)).toContain(assistant[0].signature);
  });

  test("the budget is per role and set from the console; 1..1023 is refused naming the field", async () => {
    const bad = await h.request("/api/models/config", { method: "PUT", json: { thinking: { agent: 500 } } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toContain("thinking.agent");
    const ok = (await (await h.request("/api/models/config", { method: "PUT", json: { thinking: { agent: 0, worker: 4096 } } })).json()) as any;
    expect(ok.thinking).toMatchObject({ agent: 0, worker: 4096 });
    model.on(prompt("no thinking now"), reply().text("Fine."));
    await h.request("/api/chat", { method: "POST", json: { message: "no thinking now" } });
    expect(model.requests[0]!.body.thinking).toBeUndefined();
    await h.request("/api/models/config", { method: "PUT", json: { thinking: { agent: null, worker: null } } });
  });
});

describe("How an answer ends", () => {
  test("cut off at the output limit in the middle of a tool call: the call does not run, the model is told, and the next answer may be twice as long", async () => {
    let ran = 0;
    const { Type } = await import("@sinclair/typebox");
    const { defineTool } = await import("../../core/brain/tools.ts");
    const off = h.s.tools.register(defineTool({ name: "write_note", description: "writes a note", input: Type.Object({ text: Type.String() }), run: () => ran++ }));
    try {
      model.on(
        and(prompt("Write it all down."), firstRound),
        reply().thinking("A long note.").text("Writing.").toolRaw("write_note", '{"text": "It was a dark and stormy ni').stopReason("max_tokens"),
      );
      model.on(afterTool("write_note"), reply().thinking("Shorter then.").text("The note was too long; here is the gist."));
      const res = (await (await h.request("/api/chat", { method: "POST", json: { message: "Write it all down." } })).json()) as any;
      expect(ran).toBe(0);
      expect(res.toolCalls[0]).toMatchObject({ name: "write_note", ok: false });
      expect(res.toolCalls[0].summary).toContain("cut off at the output limit");
      const [first, second] = model.requests;
      const result = (second!.body.messages.at(-1)!.content as any[])[0];
      expect(result).toMatchObject({ type: "tool_result", is_error: true });
      expect(result.content).toContain("did not run");
      expect(second!.body.max_tokens - 2048).toBe(2 * (first!.body.max_tokens - 2048));
      expect(res.text).toBe("Writing.The note was too long; here is the gist.");
    } finally {
      off();
    }
  });

  test("an answer cut off at the output limit says so", async () => {
    model.on(prompt("Tell me everything."), reply().text("Once upon a time").stopReason("max_tokens"));
    const events = await readSse(await h.request("/api/chat/stream", { method: "POST", json: { message: "Tell me everything." } }));
    const notice = events.find((e) => e.event === "notice")!;
    expect(notice.data).toMatchObject({ code: "answer_cut" });
    expect(notice.data.message).toContain("8192 tokens");
  });

  test("a paused answer is sent back as it is and the model carries on in the same message", async () => {
    model.on(prompt("Search slowly."), reply().thinking("A long search.").text("Searching").stopReason("pause_turn"), reply().text(" and found it."));
    const res = (await (await h.request("/api/chat", { method: "POST", json: { message: "Search slowly." } })).json()) as any;
    expect(res.text).toBe("Searching and found it.");
    const carried = model.requests[1]!.body.messages.at(-1)!;
    expect(carried.role).toBe("assistant");
    expect(JSON.stringify(carried.content)).toContain("Searching");
    const conv = await conversation(res.conversationId);
    expect(conv.messages.map((m: any) => m.role)).toEqual(["user", "assistant"]);
    expect(conv.messages[1].content.map((b: any) => b.type)).toEqual(["thinking", "text", "text"]);
    expect(conv.messages[1].content.map((b: any) => b.text ?? "").join("")).toBe("Searching and found it.");
  });

  test("a refusal ends the turn with model_refused; what was said is kept but the model does not see that turn again", async () => {
    model.on(prompt("Something it will not do."), reply().text("I can't help with").stopReason("refusal"));
    const refused = await h.request("/api/chat", { method: "POST", json: { message: "Something it will not do." } });
    expect(refused.status).toBe(422);
    const body = (await refused.json()) as any;
    expect(body.error.code).toBe("model_refused");
    model.on(prompt("Something else, then."), reply().text("Sure."));
    await h.request("/api/chat", { method: "POST", json: { message: "Something else, then.", conversationId: body.conversationId } });
    const next = JSON.stringify(model.requests[1]!.body.messages);
    expect(next).not.toContain("Something it will not do.");
    expect(next).not.toContain("I can't help with");
    // Nothing the owner said is lost: the refused turn stays stored and shown.
    const conv = await conversation(body.conversationId);
    expect(JSON.stringify(conv.messages)).toContain("Something it will not do.");
    expect(conv.messages.find((m: any) => m.error?.code === "model_refused")).toBeDefined();
  });
});
