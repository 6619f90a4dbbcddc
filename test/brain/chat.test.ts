import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startAnthropicStandIn, type AnthropicStandIn } from "../standins/anthropic.ts";
import { makeApp, readSse } from "../helpers/app.ts";

let model: AnthropicStandIn;
let h: Awaited<ReturnType<typeof makeApp>>;

beforeAll(async () => {
  model = startAnthropicStandIn();
  h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url });
});
afterAll(async () => {
  await h.close();
  await model.stop();
});

describe("POST /api/chat/stream", () => {
  test("streams named events in order: conversation, text deltas, done", async () => {
    model.enqueue({ text: ["Hel", "lo ", "there"], usage: { input: 100, output: 20 } });
    const res = await h.request("/api/chat/stream", { method: "POST", json: { message: "hi" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("x-trace-id")).toMatch(/^[0-9a-f]{32}$/);
    const events = await readSse(res);
    expect(events.map((e) => e.event)).toEqual(["conversation", "text", "text", "text", "done"]);
    expect(events.map((e) => Number(e.id))).toEqual([1, 2, 3, 4, 5]);
    expect(events.slice(1, 4).map((e) => e.data.delta).join("")).toBe("Hello there");
    const done = events.at(-1)!.data;
    expect(done.conversationId).toBe(events[0]!.data.id);
    expect(done.usage.inputTokens).toBe(100);
    expect(done.usage.outputTokens).toBe(20);
    expect(done.usage.costUsd).toBeCloseTo((100 * 3 + 20 * 15) / 1e6, 9);
  });
});
