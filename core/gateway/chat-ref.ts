import type { Format } from "./format/render.ts";
import type { Platform } from "./keys.ts";

/** Where a conversation's replies go: a Telegram chat (and forum topic) or a Discord channel or thread. */
export interface ChatRef {
  platform: Platform;
  chatId: string;
  /** A Telegram forum topic; Discord threads are channels of their own. */
  threadId?: string;
}

/** The longest message each platform takes, and the format it reads. */
export const LIMITS: Record<Platform, number> = { telegram: 4096, discord: 2000 };
export const FORMATS: Record<Platform, Format> = { telegram: "html", discord: "markdown" };

const ID = /^-?[0-9]{1,24}$/;

/** `telegram:<chat>[:<topic>]`, `discord:<channel>`: the conversation's key, the outbox lane, the `channel` of its conversation. */
export const chatKey = (r: ChatRef): string => (r.threadId ? `${r.platform}:${r.chatId}:${r.threadId}` : `${r.platform}:${r.chatId}`);

export function parseChatKey(key: string): ChatRef {
  const [platform, chatId, threadId, extra] = key.split(":");
  if ((platform !== "telegram" && platform !== "discord") || !chatId || !ID.test(chatId) || extra !== undefined || (threadId !== undefined && !ID.test(threadId))) {
    throw new Error(`not a chat key: ${JSON.stringify(key)}`);
  }
  return { platform, chatId, ...(threadId ? { threadId } : {}) };
}

export const platformOf = (key: string): Platform => parseChatKey(key).platform;
