import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { makeApp } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import { startAnthropicStandIn, type AnthropicStandIn } from "../standins/anthropic.ts";
import { prompt, reply } from "../standins/script.ts";
import { person, startTelegramStandIn, type TelegramStandIn } from "../standins/telegram.ts";
import { type App, nthMessage, pairChat, telegramEnv } from "./helpers.ts";

let model: AnthropicStandIn;
let tg: TelegramStandIn;
let h: App;

beforeAll(async () => {
  model = startAnthropicStandIn();
  tg = startTelegramStandIn();
  h = await makeApp(telegramEnv(tg, model));
  await waitFor("telegram connected", async () => (await (await h.request("/api/system/health")).json()).components.telegram?.status === "ok");
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await h.close();
  await tg.close();
  await model.stop();
});

describe("Telegram", () => {
  test("a paired chat's message becomes a turn of the brain, and the answer comes back in that chat", async () => {
    const alice = person(1001, "alice");
    await pairChat(h, tg, alice);
    model.on(prompt("Where is Moriarty?"), reply().text("At the ", "**Reichenbach** falls."));
    tg.say(alice.chat, alice.user, "Where is Moriarty?");
    const answer = await nthMessage(tg, alice.chat.id, 3);
    expect(answer.text).toBe("At the Reichenbach falls.");
    expect(answer.parseMode).toBe("HTML");
    expect(answer.raw).toBe("At the <b>Reichenbach</b> falls.");
    const list = (await (await h.request("/api/conversations")).json()) as any;
    const conv = list.conversations.find((c: any) => c.channel === "telegram:1001");
    expect(conv.title).toBe("Where is Moriarty?");
  });
});
