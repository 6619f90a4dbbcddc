import { type APIMessage, Client, DiscordAPIError, Events, GatewayIntentBits, HTTPError, type Message, Partials, RateLimitError, Routes, SimpleShardingStrategy } from "discord.js";
import type { ComponentHealth } from "../telemetry/health.ts";
import type { Logger } from "../telemetry/log.ts";
import type { ChatAdapter, Failure, Inbound } from "./adapter.ts";
import type { ChatRef } from "./chat-ref.ts";
import type { Format } from "./format/render.ts";

export interface DiscordOptions {
  token: string;
  apiBase: string;
  gatewayUrl: string | undefined;
  messageContent: boolean;
  log: Logger;
  receive(m: Inbound): void;
  /** Where reading missed messages starts: each paired Discord chat and the last message stored from it. */
  cursors(): { chatId: string; afterId: string }[];
  signal: AbortSignal;
}

const READY_TIMEOUT_MS = 30_000;
/** Replies never ping anyone, whatever the model wrote (@everyone included). */
const NO_MENTIONS = { parse: [] as never[], replied_user: false };

/** A Discord message as the gateway reads it; undefined for what is not addressed to the bot. */
export function inboundFrom(m: Message, botId: string): Inbound | undefined {
  if (m.author.bot || m.author.id === botId || m.system) return undefined;
  const isDM = m.guildId === null;
  if (!isDM && !m.mentions.users.has(botId) && m.mentions.repliedUser?.id !== botId) return undefined;
  const thread = m.channel.isThread() ? m.channel : undefined;
  const channelName = "name" in m.channel && m.channel.name ? `#${m.channel.name}` : m.channelId;
  const text = m.content.replace(new RegExp(`<@!?${botId}>`, "g"), " ").trim();
  const person = m.author.globalName ?? m.author.username;
  return {
    platform: "discord",
    updateKey: `discord:message:${m.id}`,
    chat: { platform: "discord", chatId: m.channelId },
    pairKey: `discord:${thread?.parentId ?? m.channelId}`,
    kind: isDM ? "private" : "channel",
    title: isDM ? `@${m.author.username}` : thread?.parent ? `#${thread.parent.name}` : channelName,
    sender: { id: m.author.id, name: person },
    text,
    messageId: m.id,
  };
}

/**
 * Discord through discord.js: DMs, and channels where the bot is mentioned
 * or replied to (a thread is a conversation of its own). Sends go through
 * discord.js's REST client with its retries and rate-limit waits turned off
 * (429 is thrown with its retry-after): the outbox is the one retry policy.
 * Each send carries the outbox row as a nonce that Discord enforces, so a
 * resend after a crash within a few minutes creates no second message.
 */
export class DiscordAdapter implements ChatAdapter {
  readonly platform = "discord" as const;
  /** Discord recognises a resend by its nonce, so chats can be sent to side by side. */
  readonly maxInFlight = 8;

  private constructor(
    private client: Client<true>,
    private opts: DiscordOptions,
  ) {}

  static async connect(opts: DiscordOptions): Promise<DiscordAdapter> {
    const intents = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages];
    if (opts.messageContent) intents.push(GatewayIntentBits.MessageContent);
    const gatewayUrl = opts.gatewayUrl;
    const client = new Client({
      intents,
      // Without Partials.Channel a direct message is dropped: the DM channel is not cached.
      partials: [Partials.Channel],
      rest: { api: opts.apiBase, retries: 0, rejectOnRateLimit: () => true, timeout: 15_000 },
      ...(gatewayUrl
        ? {
            ws: {
              buildStrategy: (manager) => {
                const fetchInfo = manager.fetchGatewayInformation.bind(manager);
                manager.fetchGatewayInformation = async (force?: boolean) => ({ ...(await fetchInfo(force)), url: gatewayUrl });
                return new SimpleShardingStrategy(manager);
              },
            },
          }
        : {}),
    });
    client.on(Events.MessageCreate, (m) => {
      const inbound = inboundFrom(m, client.user!.id);
      if (inbound) opts.receive(inbound);
    });
    client.on(Events.Error, (err) => opts.log.warn("discord client error", { error: err.message }));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no READY from the Discord gateway within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
      client.once(Events.ClientReady, () => (clearTimeout(timer), resolve()));
      opts.signal.addEventListener("abort", () => (clearTimeout(timer), reject(new Error("stopped"))), { once: true });
    });
    // When login fails first (a wrong token), nobody awaits READY: its later timeout or abort must not surface as an unhandled rejection.
    ready.catch(() => undefined);
    try {
      await client.login(opts.token);
      await ready;
    } catch (err) {
      clearTimeout(timer);
      await client.destroy().catch(() => undefined);
      throw err;
    }
    const adapter = new DiscordAdapter(client as Client<true>, opts);
    // Now, and after every new session (a resume replays what it missed; a new session does not).
    void adapter.catchUp();
    client.on(Events.ShardReady, () => void adapter.catchUp());
    return adapter;
  }

  /**
   * Messages sent to a chat while the core was away: Discord does not
   * deliver them again, so they are read back (after the last one stored, at
   * most 100) and handled like new ones; ones already stored are ignored.
   */
  async catchUp(): Promise<number> {
    let handled = 0;
    for (const { chatId, afterId } of this.opts.cursors()) {
      try {
        const channel = await this.client.channels.fetch(chatId);
        if (!channel?.isTextBased()) continue;
        const missed = await channel.messages.fetch({ after: afterId, limit: 100 });
        for (const m of [...missed.values()].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))) {
          const inbound = inboundFrom(m, this.client.user.id);
          if (inbound) {
            this.opts.receive(inbound);
            handled++;
          }
        }
      } catch (err) {
        this.opts.log.warn("could not read missed Discord messages", { chatId, error: (err as Error).message });
      }
    }
    if (handled) this.opts.log.info("read back Discord messages sent while the bot was away", { count: handled });
    return handled;
  }

  async send(to: ChatRef, m: { text: string; format: Format; replyTo?: string; nonce: string }): Promise<string> {
    const body = {
      content: m.text,
      nonce: m.nonce.slice(0, 25),
      enforce_nonce: true,
      allowed_mentions: NO_MENTIONS,
      ...(m.replyTo ? { message_reference: { message_id: m.replyTo, fail_if_not_exists: false } } : {}),
    };
    const sent = (await this.client.rest.post(Routes.channelMessages(to.chatId), { body })) as APIMessage;
    return sent.id;
  }

  async edit(to: ChatRef, messageId: string, m: { text: string }): Promise<void> {
    await this.client.rest.patch(Routes.channelMessage(to.chatId, messageId), { body: { content: m.text, allowed_mentions: NO_MENTIONS } });
  }

  async typing(to: ChatRef): Promise<void> {
    await this.client.rest.post(Routes.channelTyping(to.chatId));
  }

  failure(err: unknown): Failure {
    if (err instanceof RateLimitError) return { message: `429: rate limited on ${err.route}`, retryAfterMs: Math.max(0, err.retryAfter) };
    if (err instanceof DiscordAPIError) {
      const message = `${err.status}: ${err.message}`;
      if (err.status === 429) return { message };
      if (err.status >= 500) return { message };
      return { message, permanent: true };
    }
    if (err instanceof HTTPError) return { message: `${err.status}: ${err.message}` };
    return { message: (err as Error)?.message ?? String(err) };
  }

  health(): ComponentHealth {
    const ws = this.client.ws.status;
    // discord.js reconnects and resumes by itself; a status other than ready (0) is a connection on its way back.
    return ws === 0
      ? { status: "ok", bot: this.client.user.tag, guilds: this.client.guilds.cache.size }
      : { status: "degraded", bot: this.client.user.tag, detail: "the gateway connection dropped; discord.js is reconnecting", wsStatus: ws };
  }

  async close(): Promise<void> {
    await this.client.destroy();
  }
}
