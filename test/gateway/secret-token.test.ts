import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { gatewayChecks } from "../../core/gateway/doctor.ts";
import { makeApp } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { type DiscordStandIn, startDiscordStandIn, user } from "../standins/discord.ts";
import { person, startTelegramStandIn, type TelegramStandIn } from "../standins/telegram.ts";
import { codeIn, nthMessage, telegramEnv } from "./helpers.ts";

/** Bot tokens kept in Secrets instead of the environment: a changed token reconnects, a deleted one turns the platform off, no restart. */
let model: AnthropicStandIn;
let tg: TelegramStandIn;
let dc: DiscordStandIn;
let h: Awaited<ReturnType<typeof makeApp>>;

const health = async () => (await (await h.request("/api/system/health")).json()) as any;
const status = async (platform: string) => (await health()).components[platform]?.status as string | undefined;
const put = (name: string, value: string) => h.request(`/api/secrets/${name}`, { method: "PUT", json: { value } });

beforeAll(async () => {
  model = startAnthropicStandIn();
  tg = startTelegramStandIn();
  dc = startDiscordStandIn();
  const { TELEGRAM_BOT_TOKEN: _, ...env } = telegramEnv(tg, model);
  h = await makeApp({ ...env, DISCORD_API_BASE: dc.apiBase });
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await h.close();
  await tg.close();
  await dc.close();
  await model.stop();
});

describe("Gateway tokens in Secrets", () => {
  test("without a token anywhere the platforms are off", async () => {
    const c = (await health()).components;
    expect(c.telegram).toMatchObject({ status: "disabled" });
    expect(c.discord).toMatchObject({ status: "disabled" });
  });

  test("a wrong Telegram token stored leaves it degraded without showing the token; the right one connects without a restart, and the chat is answered", async () => {
    const wrong = "987654:WRONG-telegram-token-abcdefghijklmno";
    expect((await put("TELEGRAM_BOT_TOKEN", wrong)).status).toBe(200);
    await waitFor("telegram degraded", async () => (await status("telegram")) === "degraded");
    expect(JSON.stringify(await health())).not.toContain(wrong);
    const listed = (await (await h.request("/api/secrets")).json()) as any;
    expect(listed.secrets[0]).toMatchObject({ name: "TELEGRAM_BOT_TOKEN", users: ["gateway:telegram"] });

    expect((await put("TELEGRAM_BOT_TOKEN", tg.token)).status).toBe(200);
    await waitFor("telegram connected", async () => (await status("telegram")) === "ok", 10_000);
    const who = person(4100, "irene");
    tg.say(who.chat, who.user, "hello?");
    expect((await nthMessage(tg, who.chat.id, 1)).text).toMatch(/Pairing code/);
    // bakerst doctor checks the token the server uses, from Secrets too, beside the running server.
    const checks = await gatewayChecks(h.config);
    expect(checks).toEqual([{ ok: true, name: "telegram", detail: expect.stringContaining(`@${tg.bot.username} reachable`) }]);
  });

  test("deleting the Telegram token stops the bot; a message written meanwhile is read once the token is back", async () => {
    expect((await h.request("/api/secrets/TELEGRAM_BOT_TOKEN", { method: "DELETE" })).status).toBe(200);
    await waitFor("telegram off", async () => (await status("telegram")) === "disabled");
    // Closed: no long poll of the old bot is left waiting at Telegram.
    const polls = tg.calls.filter((c) => c.method === "getUpdates").length;
    const who = person(4101, "mycroft");
    tg.say(who.chat, who.user, "anyone there?");
    expect(tg.unconfirmed()).toBe(1);
    expect((await put("TELEGRAM_BOT_TOKEN", tg.token)).status).toBe(200);
    expect((await nthMessage(tg, who.chat.id, 1)).text).toMatch(/Pairing code/);
    expect(tg.calls.filter((c) => c.method === "getUpdates").length).toBeGreaterThan(polls);
  });

  test("a Discord token stored in Secrets connects, and a replaced one reconnects with the new identity", async () => {
    expect((await put("DISCORD_BOT_TOKEN", "discord-wrong-token-000000000")).status).toBe(200);
    await waitFor("discord degraded", async () => (await status("discord")) === "degraded");
    expect(dc.sessions()).toBe(0);
    expect((await put("DISCORD_BOT_TOKEN", dc.token)).status).toBe(200);
    await waitFor("discord connected", async () => (await status("discord")) === "ok", 20_000);
    const watson = user("700000000000000101", "watson");
    dc.dm(watson, "hello");
    await waitFor("pairing code in the DM", () => {
      const ch = dc.dmChannel(watson.id);
      return ch && dc.sentTo(ch)[0];
    });
    expect(codeIn(dc.sentTo(dc.dmChannel(watson.id)!)[0]!.content)).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
  });

  test("a token in the environment wins over Secrets, which it then leaves alone", async () => {
    const other = await makeApp({ ...telegramEnv(tg, model) });
    try {
      expect((await other.request("/api/secrets/TELEGRAM_BOT_TOKEN", { method: "PUT", json: { value: "111111:NOT-the-token-abcdefghijklmnopqrstu" } })).status).toBe(200);
      const list = (await (await other.request("/api/secrets")).json()) as any;
      expect(list.secrets[0].users).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
