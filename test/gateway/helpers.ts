import type { makeApp } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import type { BotMessage, Chat, TelegramStandIn, User } from "../standins/telegram.ts";

export type App = Awaited<ReturnType<typeof makeApp>>;

/** The code in a pairing message ("Pairing code: ABCD-2345"). */
export function codeIn(text: string): string {
  const m = /Pairing code: \**([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(text);
  if (!m) throw new Error(`no pairing code in ${JSON.stringify(text)}`);
  return m[1]!;
}

/** Waits for the n-th message the bot sent to a chat (1-based), as it shows now. */
export function nthMessage(tg: TelegramStandIn, chatId: number, n: number, timeoutMs = 10_000): Promise<BotMessage> {
  return waitFor(`message ${n} to chat ${chatId}`, () => tg.sentTo(chatId)[n - 1], timeoutMs);
}

/** Writes from a new chat, reads the code it was given, and approves it as the owner would in the console. */
export async function pairChat(h: App, tg: TelegramStandIn, who: { chat: Chat; user: User }): Promise<void> {
  const before = tg.sentTo(who.chat.id).length;
  tg.say(who.chat, who.user, "hello?");
  const msg = await nthMessage(tg, who.chat.id, before + 1);
  const res = await h.request("/api/channels/pairings/approve", { method: "POST", json: { code: codeIn(msg.text) } });
  if (res.status !== 200) throw new Error(`approve answered ${res.status}: ${await res.text()}`);
  await nthMessage(tg, who.chat.id, before + 2);
}

/** Gateway settings for tests: Telegram at the stand-in, quick retries and streaming. */
export const telegramEnv = (tg: TelegramStandIn, model: { url: string }) => ({
  TELEGRAM_BOT_TOKEN: tg.token,
  TELEGRAM_API_ROOT: tg.url,
  ANTHROPIC_API_KEY: "sk-test",
  ANTHROPIC_BASE_URL: model.url,
  GATEWAY_RETRY_MIN_MS: "20",
  GATEWAY_STREAM_INTERVAL_MS: "500",
  // Long answers would wake the memory observer, whose model calls these tests do not script.
  OBSERVER_THRESHOLD_CHARS: "1000000",
});
