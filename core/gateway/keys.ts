import type { Config } from "../config/index.ts";
import { defineKeys, type KeyValues } from "../config/keys.ts";

/** The chat gateway's settings: each platform is off until its token is set. */
export const gatewayKeys = defineKeys({
  TELEGRAM_BOT_TOKEN: { kind: "secret", help: "Telegram bot token from @BotFather; unset leaves Telegram off" },
  TELEGRAM_API_ROOT: { kind: "url", default: "https://api.telegram.org", help: "Telegram Bot API root (a local Bot API server, or a stand-in in tests)" },
  TELEGRAM_WEBHOOK_URL: {
    kind: "url",
    help: "public HTTPS URL of POST /api/webhooks/telegram; set it to take updates by webhook instead of long polling",
  },
  TELEGRAM_WEBHOOK_SECRET: { kind: "secret", help: "secret Telegram sends in X-Telegram-Bot-Api-Secret-Token (default: derived from the bot token)" },
  DISCORD_BOT_TOKEN: { kind: "secret", help: "Discord bot token; unset leaves Discord off" },
  DISCORD_API_BASE: { kind: "url", default: "https://discord.com/api", help: "Discord REST API base (without /v10)" },
  DISCORD_GATEWAY_URL: { kind: "url", help: "Discord gateway WebSocket URL (default: the one GET /gateway/bot names)" },
  DISCORD_MESSAGE_CONTENT: {
    kind: "bool",
    default: "false",
    help: "ask for the privileged Message Content intent, so replies to the bot that do not mention it are read in channels",
  },
  GATEWAY_STREAM_INTERVAL_MS: { kind: "int", min: 500, max: 60_000, default: "1500", help: "how often a reply being written is edited in the chat" },
  GATEWAY_RETRY_MIN_MS: { kind: "int", min: 10, max: 60_000, default: "1000", help: "first wait before a chunk the platform refused with 5xx is sent again (doubles to 60 s)" },
  GATEWAY_MAX_PENDING_PAIRINGS: { kind: "int", min: 1, max: 1000, default: "20", help: "pairing codes that may wait for approval at once; strangers beyond it get no answer" },
});

export type GatewaySettings = KeyValues<typeof gatewayKeys>;

export type Platform = "telegram" | "discord";
export const PLATFORMS: readonly Platform[] = ["telegram", "discord"];

/**
 * The bot token of a platform. The one place tokens are looked up, so the
 * secrets store can take over from config here.
 */
export function botToken(config: Config, platform: Platform): string | undefined {
  const k = config.read(gatewayKeys);
  return platform === "telegram" ? k.TELEGRAM_BOT_TOKEN : k.DISCORD_BOT_TOKEN;
}
