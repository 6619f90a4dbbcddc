import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeApp } from "../helpers/app.ts";
import { store } from "../memory/helpers.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, and, firstRound, prompt, reply } from "../standins/script.ts";

let model: AnthropicStandIn;
let h: Awaited<ReturnType<typeof makeApp>>;

// An owner's own personality, about as long as a real one: the stable prefix passes the model's minimum (1024 tokens) with the tools.
const SOUL = `# Who you are\n\nYou are Baker Street, the owner's assistant.\n\n${Array.from({ length: 40 }, (_, i) => `- House rule ${i + 1}: keep answers short, name things precisely and say what you did.`).join("\n")}\n`;

beforeAll(async () => {
  model = startAnthropicStandIn();
  h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url });
  writeFileSync(join(h.dataDir, "SOUL.md"), SOUL);
});
afterEach(() => {
  model.checkAndReset();
  model.cache.clear();
});
afterAll(async () => {
  await h.close();
  await model.stop();
});

const chat = async (message: string, conversationId?: string) => {
  const res = await h.request("/api/chat", { method: "POST", json: { message, ...(conversationId ? { conversationId } : {}) } });
  expect(res.status).toBe(200);
  return (await res.json()) as { conversationId: string; text: string; usage: { inputTokens: number; cacheReadTokens: number; cacheWriteTokens: number; costUsd: number } };
};

/** A turn of two tool rounds (the time, twice) and an answer: three requests. */
function scriptToolTurn(message: string) {
  model.on(and(prompt(message), firstRound), reply().text("Checking.").tool("current_time", {}));
  model.on(and(prompt(message), afterTool("current_time")), reply().text("Once more.").tool("current_time", { timeZone: "Europe/London" }), reply().text("It is late."));
}

describe("Prompt caching against a stand-in that bills as the Messages API does", () => {
  test("every round after the first reads all that the round before sent, and writes only what is new", async () => {
    scriptToolTurn("what time is it?");
    const r = await chat("what time is it?");
    const [first, second, third] = model.billed;
    expect(model.billed).toHaveLength(3);
    // The first round of a conversation writes its prefix...
    expect(first!.cacheRead).toBe(0);
    expect(first!.cacheWrite).toBeGreaterThan(1024);
    // ...each later round reads everything the one before sent...
    expect(second!.cacheRead).toBeGreaterThanOrEqual(first!.cacheWrite);
    expect(third!.cacheRead).toBe(second!.cacheRead + second!.cacheWrite);
    // ...and pays full price for nothing.
    expect(second!.input + third!.input).toBe(0);
    expect(r.usage.cacheReadTokens).toBe(second!.cacheRead + third!.cacheRead);
    expect(r.usage.cacheWriteTokens).toBe(first!.cacheWrite + second!.cacheWrite + third!.cacheWrite);
  });

  test("the next turn reads the conversation so far from the cache", async () => {
    model.on(prompt("Remind me: what is Baker Street?"), reply().text("A street in London, and your assistant."));
    const one = await chat("Remind me: what is Baker Street?");
    model.on(prompt("And who lived at 221B?"), reply().text("Sherlock Holmes, in the stories."));
    await chat("And who lived at 221B?", one.conversationId);
    scriptToolTurn("What time is it there now?");
    await chat("What time is it there now?", one.conversationId);
    const [t1, t2, t3] = model.billed;
    // Turn two reads all of turn one up to the owner's words; it writes the answer after them and its own message.
    expect(t2!.cacheRead).toBeGreaterThanOrEqual(t1!.cacheWrite);
    expect(t3!.cacheRead).toBeGreaterThan(t2!.cacheRead);
    expect(t2!.cacheWrite).toBeLessThan(t1!.cacheWrite / 4);
  });

  test("a new memory leaves the conversation cached; new reflections leave tools and personality cached", async () => {
    model.on(prompt("Note the weather."), reply().text("Noted."));
    const { conversationId } = await chat("Note the weather.");
    await store(h, "The owner keeps bees in the garden", "personal");
    model.on(prompt("What do I keep in the garden?"), reply().text("Bees."));
    await chat("What do I keep in the garden?", conversationId);
    const [t1, t2] = model.billed;
    // The memory rides with the message, after the cached prefix: the whole first turn is read.
    expect(JSON.stringify(model.requests[1]!.body.messages.at(-1))).toContain("keeps bees");
    expect(JSON.stringify(model.requests[1]!.body.system)).not.toContain("keeps bees");
    expect(t2!.cacheRead).toBeGreaterThanOrEqual(t1!.cacheWrite);

    // The reflector writes a reflection: long-lived context, after tools and personality.
    h.s.store.sqlite.query("insert into reflections (id, text, observation_count, created_at) values ('r1', 'The owner is a beekeeper.', 3, $at)").run({ $at: Date.now() });
    model.on(prompt("Any advice?"), reply().text("Check the hives."));
    await chat("Any advice?", conversationId);
    const t3 = model.billed[2]!;
    expect(JSON.stringify(model.requests[2]!.body.system)).toContain("The owner is a beekeeper.");
    // Only what follows the reflection is written again; tools and personality are read.
    expect(t3.cacheRead).toBeGreaterThan(1024);
    expect(t3.cacheRead).toBeLessThan(t2!.cacheRead);
    expect(t3.cacheWrite).toBeGreaterThan(t2!.cacheWrite);
  });
});
