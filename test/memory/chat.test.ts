import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { makeApp } from "../helpers/app.ts";
import { type AnthropicStandIn, hitOf, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, and, firstRound, prompt, reply, system } from "../standins/script.ts";
import { startVoyageStandIn, type VoyageStandIn } from "../standins/voyage.ts";
import { ready, store, until } from "./helpers.ts";

let model: AnthropicStandIn;
let voyage: VoyageStandIn;

beforeAll(() => {
  model = startAnthropicStandIn();
  voyage = startVoyageStandIn();
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await model.stop();
  await voyage.stop();
});

// The background roles, told apart by their system prompts.
const observer = system(/extract observations/);
const reflector = system(/into a few durable reflections/);

const systemOf = (i: number) => hitOf(model.requests[i]!).system;
/** What rides with the owner's newest message: the time, recent observations, relevant memories. */
const contextOf = (i: number) => hitOf(model.requests[i]!).context;

describe("Memory in the chat", () => {
  test("a stored memory reaches the model with the owner's message, unasked", async () => {
    const h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url, VOYAGE_API_KEY: "vk", VOYAGE_BASE_URL: voyage.baseURL });
    try {
      await ready(h);
      await store(h, "The owner's favourite coffee is Ethiopian Yirgacheffe, light roast", "preferences");
      await store(h, "The owner's router is a Ubiquiti Dream Machine Pro", "homelab");
      model.reset();
      model.on(prompt("Which coffee beans should I buy this week?"), reply().text("Get the Yirgacheffe again."));
      const res = await h.request("/api/chat", { method: "POST", json: { message: "Which coffee beans should I buy this week?" } });
      expect(res.status).toBe(200);
      const context = contextOf(0);
      expect(context).toContain("# What you remember about the owner");
      expect(context).toContain("[preferences] The owner's favourite coffee is Ethiopian Yirgacheffe, light roast");
      expect(context).not.toContain("Dream Machine");
      // Relevant memories change with every message: they stay out of the cached system prompt.
      expect(systemOf(0)).not.toContain("Yirgacheffe");
      // The agent can store what it learns mid-turn.
      model.on(
        and(prompt("I bought a Gaggia Classic espresso machine"), firstRound),
        reply().tool("memory_store", { text: "The owner's espresso machine is a Gaggia Classic", category: "gear" }),
      );
      model.on(afterTool("memory_store"), reply().text("Noted."));
      const second = await h.request("/api/chat", { method: "POST", json: { message: "I bought a Gaggia Classic espresso machine" } });
      const body = (await second.json()) as any;
      expect(body.toolCalls[0]).toMatchObject({ name: "memory_store", ok: true });
      // The turn's context stays the same across its rounds, so the second round reads the first from the cache...
      expect(contextOf(2)).toBe(contextOf(1));
      // ...and the memory it stored is there from the next message on.
      model.on(prompt("Which espresso machine do I have?"), reply().text("A Gaggia Classic."));
      await h.request("/api/chat", { method: "POST", json: { message: "Which espresso machine do I have?", conversationId: body.conversationId } });
      expect(contextOf(3)).toContain("[gear] The owner's espresso machine is a Gaggia Classic");
    } finally {
      await h.close();
    }
  });

  test("observer and reflector turn a conversation into observations and reflections that reach later prompts", async () => {
    const h = await makeApp({
      ANTHROPIC_API_KEY: "sk-test",
      ANTHROPIC_BASE_URL: model.url,
      OBSERVER_THRESHOLD_CHARS: "200",
      REFLECTOR_THRESHOLD_CHARS: "200",
    });
    try {
      model.reset();
      const message =
        "I've decided to move the homelab from Proxmox to Talos Kubernetes next month. I prefer declarative setups I can keep in git, " +
        "and the old VMs keep drifting. Also the UPS battery is failing and needs replacing before the move.";
      model.on(prompt(message), reply().text("Good plan. Replace the UPS battery first, then migrate one service at a time."));
      model.on(
        observer,
        reply().text(
          'Here you go:\n```json\n[{"kind":"Decision","text":"The owner will move the homelab from Proxmox to Talos Kubernetes next month."},' +
            '{"kind":"Preference","text":"The owner prefers declarative setups kept in git."},' +
            '{"kind":"Issue","text":"The UPS battery is failing and needs replacing before the migration."},' +
            '{"kind":"Mood","text":"dropped: not a known kind"},' +
            '{"kind":"NextStep","text":"Replace the UPS battery, then migrate services one at a time to Talos Kubernetes in the homelab."}]\n```',
        ),
      );
      model.on(
        reflector,
        reply().text('["The owner is standardising the homelab on declarative, git-managed infrastructure (Talos Kubernetes), starting next month after fixing the UPS."]'),
      );
      const res = await h.request("/api/chat", { method: "POST", json: { message } });
      const { conversationId } = (await res.json()) as any;
      const obs = await until(async () => {
        const r = (await (await h.request(`/api/memories/observations?conversationId=${conversationId}`)).json()) as any;
        return r.observations.length ? r.observations : null;
      }, "observations");
      expect(obs.map((o: any) => o.kind).sort()).toEqual(["Decision", "Issue", "NextStep", "Preference"]);
      expect(obs.every((o: any) => o.conversationId === conversationId)).toBe(true);
      const refl = await until(async () => {
        const r = (await (await h.request("/api/memories/reflections")).json()) as any;
        return r.reflections.length ? r.reflections : null;
      }, "reflections");
      expect(refl[0].text).toContain("git-managed infrastructure");
      expect(refl[0].observationCount).toBe(4);
      // Observer and reflector used their roles in the background, with the transcript and the observations.
      expect(systemOf(1)).toContain("extract observations");
      expect(JSON.stringify(model.requests[1]!.body.messages)).toContain("UPS battery is failing");
      expect(JSON.stringify(model.requests[2]!.body.messages)).toContain("[Decision] The owner will move the homelab");
      const unreflected = (await (await h.request("/api/memories/observations?unreflected=true")).json()) as any;
      expect(unreflected.observations).toEqual([]);

      model.on(prompt("What should I do first this weekend?"), reply().text("Sure."));
      await h.request("/api/chat", { method: "POST", json: { message: "What should I do first this weekend?", conversationId } });
      // Reflections are long-lived: in the system prompt, cached with it. Observations change each turn: with the message.
      expect(systemOf(3)).toContain("## Reflections\n- The owner is standardising the homelab");
      expect(contextOf(3)).toContain("## Recent observations");
      expect(contextOf(3)).toContain("(Issue) The UPS battery is failing");
    } finally {
      await h.close();
    }
  }, 15_000);

  test("the observer skips cleanly past the daily budget and keeps its place", async () => {
    const h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url, OBSERVER_THRESHOLD_CHARS: "200", DAILY_BUDGET_USD: "0.000001" });
    try {
      model.reset();
      model.on(prompt("Tell me a long story about my homelab and its many servers."), reply().text("x".repeat(300)).usage({ input: 1000, output: 1000 }));
      const res = await h.request("/api/chat", { method: "POST", json: { message: "Tell me a long story about my homelab and its many servers." } });
      expect(res.status).toBe(200);
      const health = await until(async () => {
        const m = ((await (await h.request("/api/system/health")).json()) as any).components.memory;
        return m.observer ? m : null;
      }, "the observer to run");
      expect(health.observer).toMatchObject({ stored: 0, skipped: "budget_exceeded" });
      expect(model.requests).toHaveLength(1);
      const obs = (await (await h.request("/api/memories/observations")).json()) as any;
      expect(obs.observations).toEqual([]);
      // Budget raised: the next turn's observer reads from where it stopped, the first message included.
      expect((await h.request("/api/models/config", { method: "PUT", json: { dailyBudgetUsd: 100 } })).status).toBe(200);
      model.on(prompt("And one more thing."), reply().text("Fine."));
      model.on(observer, reply().text('[{"kind":"Fact","text":"The owner has many homelab servers."}]'));
      await h.request("/api/chat", { method: "POST", json: { message: "And one more thing.", conversationId: ((await res.json()) as any).conversationId } });
      const later = await until(async () => {
        const r = (await (await h.request("/api/memories/observations")).json()) as any;
        return r.observations.length ? r.observations : null;
      }, "observations after the budget was raised");
      expect(later[0].text).toBe("The owner has many homelab servers.");
      const transcript = JSON.stringify(model.requests[2]!.body.messages);
      expect(transcript).toContain("many servers");
      expect(transcript).toContain("And one more thing.");
    } finally {
      await h.close();
    }
  });

  test("with no model configured the observer does nothing and chat is unaffected", async () => {
    const h = await makeApp({ OBSERVER_THRESHOLD_CHARS: "200" });
    try {
      const health = ((await (await h.request("/api/system/health")).json()) as any).components.memory;
      expect(health.observer).toBeNull();
      expect((await store(h, "Memory works without any model", "general")).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});
