import { sha256Hex } from "../util/crypto.ts";

/**
 * The secret Telegram sends with each webhook call (X-Telegram-Bot-Api-Secret-Token):
 * the configured one, or one derived from the bot token (stable across
 * restarts, and not the token). Apart from telegram.ts so checking it does not load grammy.
 */
export const webhookSecret = (token: string, configured: string | undefined) => configured ?? sha256Hex(`bakerst telegram webhook\n${token}`);
