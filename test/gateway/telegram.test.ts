import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { defineTool } from "../../core/brain/tools.ts";
import { makeApp } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import { type AnthropicStandIn, hitOf, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, and, firstRound, prompt, reply } from "../standins/script.ts";
import { person, startTelegramStandIn, type TelegramStandIn } from "../standins/telegram.ts";
import { type App, nthMessage, pairChat, telegramEnv } from "./helpers.ts";

let model: AnthropicStandIn;
let tg: TelegramStandIn;
let h: App;
let nextChat = 2000;
/** A fresh private chat, paired, for each test. */
async function paired() {
  const who = person(nextChat++, `user${nextChat}`);
  await pairChat(h, tg, who);
  return who;
}

beforeAll(async () => {
  model = startAnthropicStandIn();
  tg = startTelegramStandIn();
  h = await makeApp(telegramEnv(tg, model));
  await waitFor("telegram connected", async () => (await (await h.request("/api/system/health")).json()).components.telegram?.status === "ok");
});
afterEach(() => {
  tg.chaos(undefined);
  model.checkAndReset();
});
afterAll(async () => {
  await h.close();
  await tg.close();
  await model.stop();
});

const conversationsOf = async (chatKey: string) =>
  ((await (await h.request("/api/conversations?limit=200")).json()) as { conversations: { id: string; channel: string; title: string }[] }).conversations.filter(
    (c) => c.channel === chatKey,
  );

describe("Telegram", () => {
  test("a paired chat's message becomes a turn of the brain, and the answer comes back in that chat", async () => {
    const alice = await paired();
    model.on(prompt("Where is Moriarty?"), reply().text("At the ", "**Reichenbach** falls."));
    tg.say(alice.chat, alice.user, "Where is Moriarty?");
    const answer = await nthMessage(tg, alice.chat.id, 3);
    expect(answer.text).toBe("At the Reichenbach falls.");
    expect(answer.parseMode).toBe("HTML");
    expect(answer.raw).toBe("At the <b>Reichenbach</b> falls.");
    // Typing was shown while the turn ran.
    expect(tg.calls.some((c) => c.method === "sendChatAction" && c.body.chat_id === alice.chat.id && c.body.action === "typing")).toBe(true);
    const [conv] = await conversationsOf(`telegram:${alice.chat.id}`);
    expect(conv!.title).toBe("Where is Moriarty?");
    const detail = (await (await h.request(`/api/conversations/${conv!.id}`)).json()) as any;
    expect(detail.messages.map((m: any) => m.role)).toEqual(["user", "assistant"]);
  });

  test("one conversation per chat: later messages continue it, /new starts another", async () => {
    const bob = await paired();
    model.on(prompt("first"), reply().text("one"));
    model.on(prompt("second"), reply().text("two"));
    model.on(prompt("third"), reply().text("three"));
    tg.say(bob.chat, bob.user, "first");
    await nthMessage(tg, bob.chat.id, 3);
    tg.say(bob.chat, bob.user, "second");
    await nthMessage(tg, bob.chat.id, 4);
    // The model saw the whole conversation the second time.
    expect(model.requests.at(-1)!.body.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    tg.say(bob.chat, bob.user, "/new");
    expect((await nthMessage(tg, bob.chat.id, 5)).text).toContain("Started a new conversation");
    tg.say(bob.chat, bob.user, "third");
    expect((await nthMessage(tg, bob.chat.id, 6)).text).toBe("three");
    expect(model.requests.at(-1)!.body.messages).toHaveLength(1);
    expect((await conversationsOf(`telegram:${bob.chat.id}`)).map((c) => c.title).sort()).toEqual(["first", "third"]);
  });

  test("/help and /status answer at once, without the model", async () => {
    const carol = await paired();
    tg.say(carol.chat, carol.user, "/help");
    expect((await nthMessage(tg, carol.chat.id, 3)).text).toContain("/new");
    tg.say(carol.chat, carol.user, `/status@${tg.bot.username}`);
    const status = await nthMessage(tg, carol.chat.id, 4);
    expect(status.text).toContain("No conversation yet");
    expect(status.text).toContain("claude-sonnet-5-5");
    expect(model.requests).toHaveLength(0);
  });

  test("messages that arrive while it answers queue up and are answered in order, each once", async () => {
    const dave = await paired();
    let release!: () => void;
    model.on(
      prompt("q0"),
      reply()
        .text("a0")
        .wait(new Promise<void>((r) => (release = r))),
    );
    for (let i = 1; i < 8; i++) model.on(prompt(`q${i}`), reply().text(`a${i}`));
    for (let i = 0; i < 8; i++) tg.say(dave.chat, dave.user, `q${i}`);
    await waitFor("the first turn to start", () => model.requests.length === 1);
    release();
    await nthMessage(tg, dave.chat.id, 10);
    const answers = tg
      .sentTo(dave.chat.id)
      .slice(2)
      .map((m) => m.text);
    expect(answers).toEqual(["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"]);
    expect(model.requests.map((r) => hitOf(r).prompt)).toEqual(["q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7"]);
    // The answers to messages that had others waiting behind them quote their question.
    expect(tg.sentTo(dave.chat.id)[2]!.replyTo).toBeDefined();
  });

  test("a long answer streams into one message by editing it, tool use shown compactly, then the final text", async () => {
    const erin = await paired();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const off = h.s.tools.register(
      defineTool({
        name: "lookup",
        description: "look something up",
        input: Type.Object({ what: Type.String() }),
        run: async () => {
          await gate;
          return { found: "the hound" };
        },
      }),
    );
    try {
      model.on(and(prompt("What was on the moor?"), firstRound), reply().text("Let me check the ", "records.").tool("lookup", { what: "moor" }));
      model.on(afterTool("lookup"), reply().text("It was **the hound**."));
      tg.say(erin.chat, erin.user, "What was on the moor?");
      const draft = await nthMessage(tg, erin.chat.id, 3);
      expect(draft.text).toBe("Let me check the records.\n\n⚙ lookup …");
      release();
      await waitFor("the final edit", () => tg.sentTo(erin.chat.id)[2]!.text.endsWith("It was the hound."));
      const final = tg.sentTo(erin.chat.id)[2]!;
      expect(final.text).toBe("Let me check the records.\n\n⚙ lookup ✓\n\nIt was the hound.");
      expect(final.edits).toBeGreaterThanOrEqual(1);
      expect(tg.sentTo(erin.chat.id)).toHaveLength(3);
    } finally {
      off();
    }
  });

  test("an answer past 4,096 characters arrives as several messages, in order, cut between paragraphs", async () => {
    const fred = await paired();
    const paragraphs = Array.from({ length: 12 }, (_, i) => `Paragraph ${i}: ${"elementary ".repeat(90).trim()}.`);
    model.on(prompt("tell me everything"), reply().text(paragraphs.join("\n\n")));
    tg.say(fred.chat, fred.user, "tell me everything");
    await waitFor("the whole answer", () => tg.sentTo(fred.chat.id).some((m) => m.text.includes("Paragraph 11")));
    const parts = tg.sentTo(fred.chat.id).slice(2);
    expect(parts.length).toBe(3);
    for (const p of parts) expect(p.text.length).toBeLessThanOrEqual(4096);
    expect(parts.map((p) => p.text).join("\n\n")).toBe(paragraphs.join("\n\n"));
  });

  test("a 429 is waited out for its retry_after and a 5xx retried: the answer arrives once", async () => {
    const gina = await paired();
    tg.failNext("sendMessage", { status: 429, retryAfter: 1 }, { status: 502 }, { status: 500 });
    model.on(prompt("patience"), reply().text("worth it"));
    const t0 = Date.now();
    tg.say(gina.chat, gina.user, "patience");
    const answer = await nthMessage(tg, gina.chat.id, 3);
    expect(answer.text).toBe("worth it");
    expect(answer.sentAt - t0).toBeGreaterThanOrEqual(1000);
    const attempts = tg.calls.filter((c) => c.method === "sendMessage" && c.body.chat_id === gina.chat.id && c.body.text === "worth it").map((c) => c.answer);
    expect(attempts).toEqual([429, 502, 500, "ok"]);
    expect(tg.sentTo(gina.chat.id).filter((m) => m.text === "worth it")).toHaveLength(1);
  });

  test("a rendering Telegram refuses is sent again as plain text", async () => {
    const hal = await paired();
    tg.failNext("sendMessage", { status: 400, description: "Bad Request: can't parse entities: Unsupported start tag" });
    model.on(prompt("format"), reply().text("**bold** claim"));
    tg.say(hal.chat, hal.user, "format");
    const answer = await nthMessage(tg, hal.chat.id, 3);
    expect(answer.text).toBe("bold claim");
    expect(answer.parseMode).toBeUndefined();
  });

  test("in a group only what is addressed to the bot is read, and answers quote their question", async () => {
    const owner = person(nextChat++, "owner");
    const group = { id: -100777, type: "supergroup" as const, title: "Baker Street Irregulars" };
    const mention = (text: string) => [{ type: "mention", offset: text.indexOf("@"), length: tg.bot.username!.length + 1 }];
    const hello = `@${tg.bot.username} hello`;
    tg.say(group, owner.user, "just chatting among ourselves");
    tg.say(group, owner.user, hello, { entities: mention(hello) });
    const code = await nthMessage(tg, group.id, 1);
    expect(tg.sentTo(group.id)).toHaveLength(1);
    await h.request("/api/channels/pairings/approve", { method: "POST", json: { code: /([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(code.text)![1] } });
    await nthMessage(tg, group.id, 2);
    model.on(prompt("who are we?"), reply().text("The Irregulars."));
    tg.say(group, owner.user, "not for the bot");
    const ask = `@${tg.bot.username} who are we?`;
    tg.say(group, owner.user, ask, { entities: mention(ask) });
    const answer = await nthMessage(tg, group.id, 3);
    expect(answer.text).toBe("The Irregulars.");
    expect(answer.replyTo).toBeDefined();
    expect(model.requests).toHaveLength(1);
    const channels = (await (await h.request("/api/channels")).json()) as any;
    expect(channels.paired.find((p: any) => p.pairKey === "telegram:-100777")).toMatchObject({ kind: "group", title: "Baker Street Irregulars" });
  });

  test("owner notifications reach the paired chats chosen for them, once, and not the others", async () => {
    const ivy = await paired();
    const channels = (await (await h.request("/api/channels")).json()) as any;
    const ivyPairing = channels.paired.find((p: any) => p.pairKey === `telegram:${ivy.chat.id}`);
    expect(ivyPairing.notify).toBe(true);
    const before = new Map<number, number>();
    for (const p of channels.paired) before.set(Number(p.pairKey.split(":")[1]), tg.sentTo(Number(p.pairKey.split(":")[1])).length);
    // Everyone else opts out; ivy keeps hers.
    for (const p of channels.paired) if (p.id !== ivyPairing.id) await h.request(`/api/channels/pairings/${p.id}`, { method: "PATCH", json: { notify: false } });
    h.s.notifications.notify({ code: "budget_exceeded", message: "Today's budget is spent.", once: "test-budget" });
    h.s.notifications.notify({ code: "budget_exceeded", message: "Today's budget is spent.", once: "test-budget" });
    const note = await nthMessage(tg, ivy.chat.id, 3);
    expect(note.text).toBe("🔔 Today's budget is spent.");
    const later = "🔔 after the marker";
    h.s.notifications.notify({ code: "test", message: "after the marker" });
    await waitFor("the marker notification", () => tg.sentTo(ivy.chat.id).some((m) => m.text === later));
    expect(tg.sentTo(ivy.chat.id).filter((m) => m.text.startsWith("🔔 Today"))).toHaveLength(1);
    for (const [chatId, n] of before) if (chatId !== ivy.chat.id) expect(tg.sentTo(chatId).length).toBe(n);
  });
});
