import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { AppError } from "../../core/errors.ts";
import { makeApp } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { prompt, reply } from "../standins/script.ts";

let model: AnthropicStandIn;
beforeAll(() => {
  model = startAnthropicStandIn();
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await model.stop();
});

const answers = (...texts: string[]) => {
  for (const t of texts) model.on(prompt(t), reply().text(`answer to ${t}`));
};

describe("Turn origins", () => {
  test("a chat platform's messages queue behind the running turn and are answered in order; the console still gets 409", async () => {
    const h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url });
    try {
      // The answer to "one" waits until the next messages have arrived.
      let release!: () => void;
      model.on(
        prompt("one"),
        reply()
          .text("answer to one")
          .wait(new Promise<void>((r) => (release = r))),
      );
      answers("seed", "two", "three");
      const convo = (await h.s.brain.start({ message: "seed", origin: "telegram" }).done).conversationId;
      const one = h.s.brain.start({ message: "one", conversationId: convo, origin: "telegram" });
      const two = h.s.brain.start({ message: "two", conversationId: convo, origin: "telegram", whenBusy: "queue" });
      const three = h.s.brain.start({ message: "three", conversationId: convo, origin: "telegram", whenBusy: "queue" });
      expect(two.events).toHaveLength(0);
      expect(() => h.s.brain.start({ message: "from the console", conversationId: convo })).toThrow(/already answering/);
      release();
      const results = await Promise.all([one.done, two.done, three.done]);
      expect(results.map((r) => [r.error, r.text])).toEqual([
        [null, "answer to one"],
        [null, "answer to two"],
        [null, "answer to three"],
      ]);
      const texts = h.s.conversations.messages(convo).map((m) => `${m.role}:${m.content.map((b) => ("text" in b ? b.text : "")).join("")}`);
      expect(texts.slice(2)).toEqual(["user:one", "assistant:answer to one", "user:two", "assistant:answer to two", "user:three", "assistant:answer to three"]);
      expect(h.s.conversations.get(convo).channel).toBe("telegram");
    } finally {
      await h.close();
    }
  });

  test("stopping a conversation ends the turns queued behind it, unanswered", async () => {
    const h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url });
    try {
      model.on(prompt("seed"), reply().text("still thinking").hang());
      const seed = h.s.brain.start({ message: "seed", origin: "telegram" });
      const queued = h.s.brain.start({ message: "later", conversationId: seed.conversationId, origin: "telegram", whenBusy: "queue" });
      await waitFor("the model asked", () => model.requests.length === 1);
      expect(h.s.brain.stop(seed.conversationId)).toBe(true);
      const r = await queued.done;
      expect(r.error?.code).toBe("stopped");
      expect((await seed.done).error?.code).toBe("stopped");
      expect(h.s.conversations.messages(seed.conversationId).some((m) => m.content.some((b) => "text" in b && b.text === "later"))).toBe(false);
    } finally {
      await h.close();
    }
  });

  test("past the daily budget a background turn is refused and the owner is told once; chat still runs with a notice", async () => {
    const h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url, DAILY_BUDGET_USD: "0.01" });
    try {
      model.on(prompt("spend"), reply().text("expensive").usage({ input: 10_000, output: 0 }));
      answers("still there?");
      await h.s.brain.start({ message: "spend", origin: "api" }).done;
      for (const origin of ["schedule", "task"] as const) {
        let err: unknown;
        try {
          h.s.brain.start({ message: "morning briefing", origin });
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(AppError);
        expect((err as AppError).code).toBe("budget_exceeded");
        expect((err as AppError).status).toBe(402);
      }
      const notes = await (await h.request("/api/notifications")).json();
      expect(notes.notifications.map((n: { code: string }) => n.code)).toEqual(["budget_exceeded"]);
      expect(notes.notifications[0].message).toContain("background work");
      const chat = await h.s.brain.start({ message: "still there?", origin: "telegram" }).done;
      expect(chat.error).toBeNull();
      expect(chat.notices.map((n) => n.code)).toEqual(["budget_exceeded"]);
    } finally {
      await h.close();
    }
  });

  test("each model call's usage records where the turn came from", async () => {
    const h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url });
    try {
      answers("by token", "from a phone");
      await h.request("/api/chat", { method: "POST", json: { message: "by token" } });
      await h.s.brain.start({ message: "from a phone", origin: "telegram" }).done;
      h.s.models.ledger.flush();
      const rows = h.s.store.sqlite.query("SELECT origin FROM usage ORDER BY id").all() as { origin: string }[];
      expect(rows.map((r) => r.origin)).toEqual(["api", "telegram"]);
    } finally {
      await h.close();
    }
  });
});
