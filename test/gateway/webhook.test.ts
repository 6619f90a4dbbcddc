import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { serveApp } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { anyRequest, prompt, reply } from "../standins/script.ts";
import { person, startTelegramStandIn, type TelegramStandIn } from "../standins/telegram.ts";
import { codeIn, nthMessage, telegramEnv } from "./helpers.ts";

let model: AnthropicStandIn;
let tg: TelegramStandIn;
let app: Awaited<ReturnType<typeof serveApp>>;
let front: ReturnType<typeof Bun.serve>;
const SECRET = "webhook-secret-0123456789";

beforeAll(async () => {
  model = startAnthropicStandIn();
  tg = startTelegramStandIn();
  // The public URL Telegram is given: a front that forwards to the app once it listens (the app picks its port at start).
  let target = "";
  front = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (r) => fetch(`${target}${new URL(r.url).pathname}`, { method: r.method, headers: r.headers, body: r.body }) });
  app = await serveApp({ ...telegramEnv(tg, model), TELEGRAM_WEBHOOK_URL: `http://127.0.0.1:${front.port}/api/webhooks/telegram`, TELEGRAM_WEBHOOK_SECRET: SECRET });
  target = app.url;
  await waitFor("the webhook set", () => tg.webhook?.secret === SECRET);
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await app.stop();
  front.stop(true);
  await tg.close();
  await model.stop();
});

const post = (body: BodyInit, headers: Record<string, string> = {}) =>
  fetch(`${app.url}/api/webhooks/telegram`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
const update = (id: number, chatId: number, text: string) => ({
  update_id: id,
  message: { message_id: id, date: 0, chat: { id: chatId, type: "private", username: "w" }, from: { id: chatId, is_bot: false, first_name: "w", username: "w" }, text },
});
const counted = (sql: string) => {
  app.services.audit.flush();
  return (app.services.store.sqlite.query(sql).get() as { n: number }).n;
};

describe("Telegram by webhook", () => {
  test("updates arrive by webhook with the secret checked, and are answered like polled ones", async () => {
    const w = person(3001, "webby");
    tg.say(w.chat, w.user, "hi");
    const code = codeIn((await nthMessage(tg, w.chat.id, 1)).text);
    const res = await fetch(`${app.url}/api/channels/pairings/approve`, {
      method: "POST",
      headers: { ...app.auth, "content-type": "application/json" },
      body: JSON.stringify({ code }),
    });
    expect(res.status).toBe(200);
    model.on(prompt("by hook?"), reply().text("By hook."));
    tg.say(w.chat, w.user, "by hook?");
    expect((await nthMessage(tg, w.chat.id, 3)).text).toBe("By hook.");
    expect(tg.calls.filter((c) => c.method === "getUpdates")).toHaveLength(0);
  });

  test("the same update delivered twice runs one turn", async () => {
    model.on(prompt("only once"), reply().text("once"));
    const u = update(900_001, 3001, "only once");
    const [a, b] = await Promise.all([
      post(JSON.stringify(u), { "x-telegram-bot-api-secret-token": SECRET }),
      post(JSON.stringify(u), { "x-telegram-bot-api-secret-token": SECRET }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await post(JSON.stringify(u), { "x-telegram-bot-api-secret-token": SECRET })).status).toBe(200);
    await waitFor("the answer", () => tg.sentTo(3001).some((m) => m.text === "once"));
    model.on(prompt("marker"), reply().text("marker answered"));
    await post(JSON.stringify(update(900_002, 3001, "marker")), { "x-telegram-bot-api-secret-token": SECRET });
    await waitFor("the marker", () => tg.sentTo(3001).some((m) => m.text === "marker answered"));
    expect(model.requests.filter((r) => JSON.stringify(r.body.messages).includes("only once"))).toHaveLength(2);
    expect(tg.sentTo(3001).filter((m) => m.text === "once")).toHaveLength(1);
  });

  test("without the secret, or with a wrong one, nothing is read: 401 before the body, and audited", async () => {
    model.always(anyRequest, () => reply().text("reached"));
    const before = counted("SELECT count(*) AS n FROM gateway_inbox");
    // Under the server's own body cap (past it Bun answers 413 before any route): the handler must refuse it unread.
    const big = JSON.stringify({ ...update(900_100, 3001, "x".repeat(900_000)) });
    for (const headers of [{}, { "x-telegram-bot-api-secret-token": "wrong" }, { "x-telegram-bot-api-secret-token": `${SECRET}x` }] as Record<string, string>[]) {
      const res = await post(big, headers);
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe("unauthorized");
    }
    expect(counted("SELECT count(*) AS n FROM gateway_inbox")).toBe(before);
    expect(counted("SELECT count(*) AS n FROM audit_log WHERE action = 'webhook.refused' AND target = 'telegram'")).toBe(3);
    expect(model.requests).toHaveLength(0);
  });

  test("with the secret, a body past 1 MiB or not an update is refused; unknown webhooks and other spellings are not open", async () => {
    const headers = { "x-telegram-bot-api-secret-token": SECRET };
    expect((await post(JSON.stringify(update(900_200, 3001, "y".repeat(1_100_000))), headers)).status).toBe(413);
    expect((await post("[1,2,3]", headers)).status).toBe(400);
    expect((await fetch(`${app.url}/api/webhooks/nothing-here`, { method: "POST", body: "{}" })).status).toBe(404);
    expect((await fetch(`${app.url}/api/webhooks/Telegram`, { method: "POST", headers, body: "{}" })).status).toBe(401);
    expect((await fetch(`${app.url}/api/webhooks/telegram/`, { method: "POST", headers, body: "{}" })).status).toBe(401);
  });
});
