import { Bot, GrammyError, HttpError } from "grammy";
import type { Message, Update, UserFromGetMe } from "grammy/types";
import { AppError } from "../errors.ts";
import type { ComponentHealth } from "../telemetry/health.ts";
import type { Logger } from "../telemetry/log.ts";
import type { ChatAdapter, Failure, Inbound } from "./adapter.ts";
import type { ChatRef } from "./chat-ref.ts";
import type { Format } from "./format/render.ts";

export interface TelegramOptions {
  token: string;
  apiRoot: string;
  /** Webhook mode: the public URL of POST /api/webhooks/telegram and the secret Telegram sends with each call. */
  webhook?: { url: string; secret: string };
  log: Logger;
  /** Stores the message; returns once it is stored (the update is confirmed to Telegram only after). */
  receive(m: Inbound): void;
  signal: AbortSignal;
}

/** grammy types its signals with the abort-controller shim of its Node build; at run time they are the platform's own. */
const signalOf = (s: AbortSignal) => s as unknown as Parameters<Bot["init"]>[0];

/** How long a polling loop that stopped waits before it starts again. */
const RESTART_POLLING_MS = 5_000;
const COMMANDS = [
  { command: "new", description: "start a new conversation" },
  { command: "status", description: "what the agent is doing in this chat" },
  { command: "help", description: "what this bot is and its commands" },
];

/** Telegram's messages, as the gateway reads them; undefined for what is not addressed to the bot. */
export function inboundFrom(update: Update, me: UserFromGetMe): Inbound | undefined {
  const msg: Message | undefined = update.message;
  if (!msg?.from || msg.from.is_bot) return undefined;
  const chat = msg.chat;
  const isPrivate = chat.type === "private";
  let text = msg.text ?? msg.caption ?? "";
  const entities = msg.entities ?? msg.caption_entities ?? [];
  if (!isPrivate) {
    // In a group the bot answers only what is addressed to it: a mention, a reply to it, or a command to it.
    const mention = `@${me.username}`.toLowerCase();
    const addressed =
      entities.some((e) => (e.type === "mention" && text.slice(e.offset, e.offset + e.length).toLowerCase() === mention) || (e.type === "text_mention" && e.user.id === me.id)) ||
      msg.reply_to_message?.from?.id === me.id ||
      entities.some((e) => e.type === "bot_command" && e.offset === 0 && text.slice(0, e.length).toLowerCase().endsWith(mention));
    if (!addressed) return undefined;
    text = text.replace(new RegExp(`(^|\\s)@${me.username}\\b`, "gi"), " ").trim();
  }
  const threadId = msg.is_topic_message && msg.message_thread_id ? String(msg.message_thread_id) : undefined;
  const person = msg.from.username ? `@${msg.from.username}` : [msg.from.first_name, msg.from.last_name].filter(Boolean).join(" ");
  return {
    platform: "telegram",
    updateKey: `telegram:${me.id}:${update.update_id}`,
    chat: { platform: "telegram", chatId: String(chat.id), ...(threadId ? { threadId } : {}) },
    pairKey: `telegram:${chat.id}`,
    kind: isPrivate ? "private" : "group",
    title: isPrivate ? person : "title" in chat && chat.title ? chat.title : String(chat.id),
    sender: { id: String(msg.from.id), name: person },
    text,
    messageId: String(msg.message_id),
  };
}

/**
 * Telegram through grammy: long polling (grammy's own loop, which confirms
 * an update to Telegram only after the gateway stored it), or a webhook with
 * the secret-token header checked. Sends come from the outbox only, one try
 * per call: the outbox is the one retry policy.
 */
export class TelegramAdapter implements ChatAdapter {
  readonly platform = "telegram" as const;
  /** Telegram has no idempotency key: one send at a time, so a crash can repeat at most one message. */
  readonly maxInFlight = 1;
  private bot: Bot;
  private closed = false;
  private pollError: string | undefined;
  private polling: Promise<void> | undefined;
  private cancelWait: (() => void) | undefined;

  private constructor(
    private opts: TelegramOptions,
    readonly me: UserFromGetMe,
  ) {
    this.bot = this.makeBot();
  }

  /** Reaches Telegram (getMe), then takes updates; throws while Telegram cannot be reached. */
  static async connect(opts: TelegramOptions): Promise<TelegramAdapter> {
    // One getMe, not bot.init() (which retries by itself forever): the area's retry loop shows each failure in health.
    const probe = new Bot(opts.token, { client: { apiRoot: opts.apiRoot, timeoutSeconds: 30 } });
    const me = await probe.api.getMe(signalOf(opts.signal));
    const adapter = new TelegramAdapter(opts, me);
    // The menu of commands is a nicety: a failure to set it is logged, not fatal.
    await adapter.bot.api.setMyCommands(COMMANDS).catch((err) => opts.log.warn("could not set the bot's commands", { error: (err as Error).message }));
    if (opts.webhook) {
      await adapter.bot.api.setWebhook(opts.webhook.url, { secret_token: opts.webhook.secret, allowed_updates: ["message"] }, signalOf(opts.signal));
    } else {
      adapter.polling = adapter.poll();
    }
    return adapter;
  }

  private makeBot(): Bot {
    const bot = new Bot(this.opts.token, { botInfo: this.me, client: { apiRoot: this.opts.apiRoot, timeoutSeconds: 30 } });
    bot.on("message", (ctx) => {
      const m = inboundFrom(ctx.update, this.me);
      if (m) this.opts.receive(m);
    });
    // A message that could not be stored stops this polling loop: Telegram keeps the update, a new loop reads it again.
    bot.catch((err) => {
      throw err.error;
    });
    return bot;
  }

  private async poll(): Promise<void> {
    while (!this.closed) {
      try {
        await this.bot.start({ allowed_updates: ["message"], timeout: 30, onStart: () => (this.pollError = undefined) });
      } catch (err) {
        this.pollError = (err as Error).message;
        this.opts.log.warn("telegram polling stopped; starting again", { error: this.pollError });
      }
      if (this.closed) return;
      await new Promise<void>((r) => {
        const t = setTimeout(r, RESTART_POLLING_MS);
        this.cancelWait = () => (clearTimeout(t), r());
      });
      if (this.closed) return;
      this.bot = this.makeBot();
    }
  }

  /** Webhook mode: one update; resolves once it is stored (Telegram sends it again on anything but 2xx). */
  async handleWebhook(update: unknown): Promise<void> {
    if (!update || typeof update !== "object" || !Number.isSafeInteger((update as Update).update_id)) throw new AppError("invalid_request", "body: not a Telegram update");
    await this.bot.handleUpdate(update as Update);
  }

  async send(to: ChatRef, m: { text: string; format: Format; replyTo?: string }): Promise<string> {
    const sent = await this.bot.api.sendMessage(Number(to.chatId), m.text, {
      ...(m.format === "html" ? { parse_mode: "HTML" as const } : {}),
      link_preview_options: { is_disabled: true },
      ...(to.threadId ? { message_thread_id: Number(to.threadId) } : {}),
      ...(m.replyTo ? { reply_parameters: { message_id: Number(m.replyTo), allow_sending_without_reply: true } } : {}),
    });
    return String(sent.message_id);
  }

  async edit(to: ChatRef, messageId: string, m: { text: string; format: Format }): Promise<void> {
    await this.bot.api.editMessageText(Number(to.chatId), Number(messageId), m.text, {
      ...(m.format === "html" ? { parse_mode: "HTML" as const } : {}),
      link_preview_options: { is_disabled: true },
    });
  }

  async typing(to: ChatRef): Promise<void> {
    await this.bot.api.sendChatAction(Number(to.chatId), "typing", to.threadId ? { message_thread_id: Number(to.threadId) } : {});
  }

  failure(err: unknown): Failure {
    if (err instanceof GrammyError) {
      const message = `${err.error_code}: ${err.description}`;
      if (err.error_code === 429) return { message, retryAfterMs: (err.parameters.retry_after ?? 1) * 1000 };
      if (err.error_code >= 500) return { message };
      if (/message is not modified/i.test(err.description)) return { message, notModified: true };
      if (/can't parse entities|unsupported start tag|can't find end/i.test(err.description)) return { message, badFormat: true };
      return { message, permanent: true };
    }
    if (err instanceof HttpError) return { message: err.message };
    return { message: (err as Error)?.message ?? String(err) };
  }

  health(): ComponentHealth {
    const mode = this.opts.webhook ? "webhook" : "polling";
    if (this.pollError) {
      return {
        status: "degraded",
        bot: `@${this.me.username}`,
        mode,
        detail: `long polling stopped: ${this.pollError}; starting again`,
        fix: /409/.test(this.pollError) ? "another process polls this bot: stop it, or set TELEGRAM_WEBHOOK_URL" : "check TELEGRAM_BOT_TOKEN and the network; run bakerst doctor",
      };
    }
    return { status: "ok", bot: `@${this.me.username}`, mode };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelWait?.();
    if (this.bot.isRunning()) await this.bot.stop().catch(() => undefined);
    await this.polling;
  }
}
