import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeApp, readSse, tempDir } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import { type AnthropicStandIn, hitOf, startAnthropicStandIn } from "../standins/anthropic.ts";
import { httpError, prompt, reply, system } from "../standins/script.ts";

let model: AnthropicStandIn;
let h: Awaited<ReturnType<typeof makeApp>>;

const observer = system(/extract observations/);
const OBSERVATIONS = '[{"kind":"Decision","text":"The garden gets three raised beds."},{"kind":"Fact","text":"The shed roof leaks at the north corner."}]';
const long = (topic: string) => `${topic}: ${"a detailed plan with measurements and a shopping list. ".repeat(55)}`;

beforeAll(async () => {
  model = startAnthropicStandIn();
  // A model with a small window (4,000 tokens), so a few long answers fill it; the background observer stays out of the way.
  const dataDir = tempDir();
  writeFileSync(join(dataDir, "bakerst.json"), JSON.stringify({ models: { contextTokens: { claude: 4000 } } }));
  h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url, OBSERVER_THRESHOLD_CHARS: "1000000" }, { dataDir });
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await h.close();
  await model.stop();
});

const chat = async (message: string, conversationId?: string) => {
  const res = await h.request("/api/chat/stream", { method: "POST", json: { message, ...(conversationId ? { conversationId } : {}) } });
  return readSse(res);
};
const conversation = async (id: string) => (await (await h.request(`/api/conversations/${id}`)).json()) as any;
const agentRequests = () => model.requests.filter((r) => !/extract observations/.test(hitOf(r).system));

describe("Compaction instead of truncation", () => {
  test("near the context window, the older turns become the observer's observations; the last turn stays verbatim and every message stays stored", async () => {
    model.on(prompt("Plan the garden."), reply().text(long("Garden")));
    const id = (await chat("Plan the garden."))[0]!.data.id;
    model.on(prompt("And the shed?"), reply().text(long("Shed")));
    await chat("And the shed?", id);
    model.on(prompt("Now the fence."), reply().text(long("Fence")));
    expect((await chat("Now the fence.", id)).some((e) => e.event === "notice")).toBe(false);
    model.on(observer, reply().text(OBSERVATIONS));
    model.on(prompt("Finally the gate."), reply().text("The gate goes on the east side."));
    const events = await chat("Finally the gate.", id);
    const notice = events.find((e) => e.event === "notice")!;
    expect(notice.data.code).toBe("compacted");
    expect(notice.data.message).toContain("the 2 oldest turns as 2 observations");

    // The observer read the two oldest turns, not the one kept verbatim.
    const read = JSON.stringify(model.requests.find((r) => /extract observations/.test(hitOf(r).system))!.body.messages);
    expect(read).toContain("Plan the garden.");
    expect(read).toContain("And the shed?");
    expect(read).not.toContain("Now the fence.");
    // The model sees the observations in the long-lived part of the system prompt, then the verbatim turns.
    const last = agentRequests().at(-1)!;
    expect(hitOf(last).system).toContain("## Earlier in this conversation");
    expect(hitOf(last).system).toContain("- (Decision) The garden gets three raised beds.");
    const sent = JSON.stringify(last.body.messages);
    expect(sent).not.toContain("Plan the garden.");
    expect(sent).not.toContain("Shed:");
    expect(sent).toContain("Now the fence.");
    expect(sent).toContain("Fence:");

    // Nothing the owner said is lost: every message is stored and shown, with the compaction beside them.
    const conv = await conversation(id);
    expect(conv.messages.filter((m: any) => m.role === "user").map((m: any) => m.content[0].text)).toEqual([
      "Plan the garden.",
      "And the shed?",
      "Now the fence.",
      "Finally the gate.",
    ]);
    expect(conv.compaction.throughSeq).toBe(conv.messages[3].seq);
    expect(conv.compaction.summary).toContain("The shed roof leaks at the north corner.");
    // The next turn reads the compacted prefix from the cache: the summary sits in the long-lived blocks.
    model.on(prompt("Thanks."), reply().text("Any time."));
    await chat("Thanks.", id);
    expect(model.billed.at(-1)!.cacheRead).toBeGreaterThan(0);
  });

  test("/compact in the chat and the console's button compact on request; the command is not stored as a message", async () => {
    model.on(prompt("First thing."), reply().text("One."));
    const id = (await chat("First thing."))[0]!.data.id;
    model.on(prompt("Second thing."), reply().text("Two."));
    await chat("Second thing.", id);
    model.on(observer, reply().text('[{"kind":"Fact","text":"The owner listed a first thing."}]'));
    const events = await chat("/compact", id);
    expect(events.map((e) => e.event)).toEqual(["conversation", "notice", "done"]);
    expect(events[1]!.data.code).toBe("compacted");
    const again = (await (await h.request(`/api/conversations/${id}/compact`, { method: "POST" })).json()) as any;
    expect(again).toEqual({ compacted: false, message: expect.stringContaining("Nothing to compact") });
    const conv = await conversation(id);
    expect(JSON.stringify(conv.messages)).not.toContain("/compact");
    expect(conv.compaction.summary).toBe("- (Fact) The owner listed a first thing.");
  });

  test("refused without a conversation, for an unknown one, and while a turn runs, with nothing changed", async () => {
    const none = await h.request("/api/chat", { method: "POST", json: { message: "/compact" } });
    expect(none.status).toBe(400);
    expect((await h.request("/api/conversations/nope/compact", { method: "POST" })).status).toBe(404);
    expect((await h.request("/api/conversations/nope/compact", { method: "POST", auth: false })).status).toBe(401);
    model.on(prompt("Short one."), reply().text("Done."));
    const id = (await chat("Short one."))[0]!.data.id;
    let release!: () => void;
    model.on(
      prompt("Slow one."),
      reply()
        .text("Finally.")
        .wait(new Promise<void>((r) => (release = r))),
    );
    const running = h.request("/api/chat", { method: "POST", json: { message: "Slow one.", conversationId: id } });
    await waitFor("the turn to start", () => h.s.brain.activeTurn(id), 5000);
    const busy = await h.request(`/api/conversations/${id}/compact`, { method: "POST" });
    expect(busy.status).toBe(409);
    release();
    expect((await running).status).toBe(200);
    expect((await conversation(id)).compaction).toBeNull();
  });

  test("an answer that fills the context window says so, and the next turn starts by compacting", async () => {
    model.on(prompt("One."), reply().text("1"));
    const id = (await chat("One."))[0]!.data.id;
    model.on(prompt("Two, with a huge attachment."), reply().text("I could only read part").stopReason("model_context_window_exceeded"));
    const full = await chat("Two, with a huge attachment.", id);
    expect(full.find((e) => e.event === "notice")!.data.code).toBe("context_window");
    model.on(observer, reply().text('[{"kind":"Fact","text":"The owner said one."}]'));
    model.on(prompt("Three."), reply().text("3"));
    const next = await chat("Three.", id);
    expect(next.find((e) => e.event === "notice")!.data.code).toBe("compacted");
    expect(JSON.stringify(agentRequests().at(-1)!.body.messages)).not.toContain("One.");
  });

  test("when the observer cannot summarise, the owner is told and the turn goes on with the whole history", async () => {
    model.on(prompt("Alpha."), reply().text(long("Alpha")));
    const id = (await chat("Alpha."))[0]!.data.id;
    model.on(prompt("Beta."), reply().text(long("Beta")));
    await chat("Beta.", id);
    model.on(prompt("Gamma."), reply().text(long("Gamma")));
    await chat("Gamma.", id);
    model.on(observer, httpError(400, { message: "observer broke" }));
    model.on(prompt("Delta."), reply().text("Still here."));
    const events = await chat("Delta.", id);
    const notice = events.find((e) => e.event === "notice")!;
    expect(notice.data.code).toBe("not_compacted");
    expect(notice.data.message).toContain("could not summarise");
    expect(events.find((e) => e.event === "done")).toBeDefined();
    expect(JSON.stringify(agentRequests().at(-1)!.body.messages)).toContain("Alpha.");
    expect((await conversation(id)).compaction).toBeNull();
  });
});
