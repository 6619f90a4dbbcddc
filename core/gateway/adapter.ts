import type { ComponentHealth } from "../telemetry/health.ts";
import type { ChatRef } from "./chat-ref.ts";
import type { Format } from "./format/render.ts";
import type { Platform } from "./keys.ts";

/** What a failed platform call means for the outbox. */
export interface Failure {
  message: string;
  /** 429: the platform said when to come back. */
  retryAfterMs?: number;
  /** 4xx that no retry will change (chat gone, bot blocked, bad request). */
  permanent?: boolean;
  /** The platform could not parse the rendering; the plain text may pass. */
  badFormat?: boolean;
  /** An edit to the text the message already shows: done. */
  notModified?: boolean;
}

/** A message from a chat, as every platform hands it to the gateway. */
export interface Inbound {
  platform: Platform;
  /** Unique per update: a re-read of the same update has the same key. */
  updateKey: string;
  /** Where the conversation lives and replies go. */
  chat: ChatRef;
  /** What is paired: the chat, or the channel a thread belongs to. */
  pairKey: string;
  kind: "private" | "group" | "channel";
  /** The chat as the owner will recognise it in the console. */
  title: string;
  sender: { id: string; name: string };
  /** The text, with the bot's own mention taken out. */
  text: string;
  messageId: string;
}

/** One chat platform, connected. The gateway's outbox is its only sender. */
export interface ChatAdapter {
  readonly platform: Platform;
  /**
   * Sends in flight at once. Where a resend cannot be recognised (Telegram
   * has no idempotency key) this is 1, so a crash leaves at most one message
   * the platform has and the outbox does not know about.
   */
  readonly maxInFlight: number;
  send(to: ChatRef, m: { text: string; format: Format; replyTo?: string; nonce: string }): Promise<string>;
  edit(to: ChatRef, messageId: string, m: { text: string; format: Format }): Promise<void>;
  /** Shows "typing…" for a few seconds; best effort. */
  typing(to: ChatRef): Promise<void>;
  failure(err: unknown): Failure;
  health(): ComponentHealth;
  close(): Promise<void>;
}
