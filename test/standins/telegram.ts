/**
 * A local Telegram Bot API for the real grammy to talk to through
 * TELEGRAM_API_ROOT: `POST /bot<token>/<method>` answering `{ ok, result }`
 * or `{ ok: false, error_code, description, parameters? }`, the way
 * api.telegram.org does. Updates are queued by the test (`say`) and handed out
 * by long-polling `getUpdates` (confirmed by the next offset) or posted to the
 * webhook with its secret-token header. HTML messages are parsed the way
 * Telegram does (only its tags, only its four named entities, tags nested),
 * and refused with "can't parse entities" otherwise; visible text past 4096
 * characters is refused as too long.
 */
import type { Server } from "bun";

export interface Chat {
  id: number;
  type: "private" | "group" | "supergroup";
  title?: string;
  username?: string;
  first_name?: string;
}

export interface User {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
}

/** A message the bot sent, as the chat shows it now. */
export interface BotMessage {
  chatId: number;
  messageId: number;
  threadId?: number;
  /** The visible text (entities parsed away). */
  text: string;
  /** The text as sent (HTML when parse_mode was HTML). */
  raw: string;
  parseMode?: string;
  replyTo?: number;
  edits: number;
  sentAt: number;
}

export interface Call {
  method: string;
  body: any;
  /** What the stand-in answered: ok, or the error code. */
  answer: "ok" | number;
}

export interface TelegramStandIn {
  url: string;
  token: string;
  bot: User;
  /** Every call, in order. */
  calls: Call[];
  /** Every message the bot sent (accepted), in order. */
  messages: BotMessage[];
  /** Called with each message the bot sends, once Telegram has accepted it (benchmarks time round trips with it). */
  onMessage(fn: ((m: BotMessage) => void) | undefined): void;
  /** Every message users wrote (`say`), in order. */
  said: { updateId: number; chatId: number; messageId: number; text: string }[];
  webhook: { url: string; secret?: string } | undefined;
  /** A user writes; returns the update id. Delivered by getUpdates, or posted to the webhook when one is set. */
  say(chat: Chat, from: User, text: string, opts?: { entities?: unknown[]; replyTo?: number; threadId?: number; caption?: boolean }): number;
  /** The messages the bot sent to a chat. */
  sentTo(chatId: number): BotMessage[];
  /** Answer the next calls of `method` with these errors, in order. */
  failNext(method: string, ...errors: { status: number; retryAfter?: number; description?: string }[]): void;
  /** Answer send methods with 429 (retry_after 1 s) or 5xx at these rates, at random. */
  chaos(rates: { rate429: number; rate5xx: number } | undefined): void;
  /** Updates not yet confirmed by an offset. */
  unconfirmed(): number;
  /** Stops answering (connections refused) and starts again on the same port. */
  stop(): Promise<void>;
  start(): void;
  close(): Promise<void>;
}

const ALLOWED = new Set(["b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a", "blockquote", "tg-spoiler", "span", "tg-emoji"]);

/** Telegram's HTML parse mode: the visible text, or the reason it cannot be parsed. */
export function parseTelegramHtml(html: string): { text: string } | { error: string } {
  let text = "";
  const open: string[] = [];
  let i = 0;
  while (i < html.length) {
    const c = html[i]!;
    if (c === "<") {
      const end = html.indexOf(">", i);
      if (end === -1) return { error: `Unclosed start tag at byte offset ${i}` };
      const inner = html.slice(i + 1, end);
      const closing = inner.startsWith("/");
      const name = (closing ? inner.slice(1) : inner).split(/[\s=]/)[0]!.toLowerCase();
      if (!ALLOWED.has(name)) return { error: `Unsupported start tag "${name}" at byte offset ${i}` };
      if (closing) {
        if (open.pop() !== name) return { error: `Unmatched end tag at byte offset ${i}, expected "</${open.at(-1) ?? ""}>", found "</${name}>"` };
      } else {
        if (name === "a" && !/^a\s+href="[^"<>]*"$/.test(inner)) return { error: `Bad a tag at byte offset ${i}` };
        open.push(name);
      }
      i = end + 1;
    } else if (c === "&") {
      const m = /^&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});/.exec(html.slice(i));
      if (!m) return { error: `Unsupported entity at byte offset ${i}` };
      text += { lt: "<", gt: ">", amp: "&", quot: '"' }[m[1]!] ?? String.fromCodePoint(m[1]!.startsWith("#x") ? parseInt(m[1]!.slice(2), 16) : Number(m[1]!.slice(1)));
      i += m[0].length;
    } else if (c === ">") {
      return { error: `Unexpected end tag at byte offset ${i}` };
    } else {
      text += c;
      i++;
    }
  }
  if (open.length) return { error: `Can't find end tag corresponding to start tag "${open.at(-1)}"` };
  return { text };
}

const SEND_METHODS = new Set(["sendMessage", "editMessageText", "sendChatAction"]);

export function startTelegramStandIn(opts: { token?: string; username?: string } = {}): TelegramStandIn {
  const token = opts.token ?? "123456:TEST-telegram-token-abcdefghijklmnop";
  const bot: User = { id: 123456, is_bot: true, first_name: "Baker Street", username: opts.username ?? "bakerst_test_bot" };
  const updates: { update_id: number; message: any }[] = [];
  let nextUpdate = 1;
  let confirmedBelow = 1;
  const chatMessageIds = new Map<number, number>();
  const messages: BotMessage[] = [];
  const said: TelegramStandIn["said"] = [];
  const calls: Call[] = [];
  const failures = new Map<string, { status: number; retryAfter?: number; description?: string }[]>();
  let rates: { rate429: number; rate5xx: number } | undefined;
  let waiter: { resolve: () => void } | undefined;
  let listener: ((m: BotMessage) => void) | undefined;
  const state: { webhook: { url: string; secret?: string } | undefined } = { webhook: undefined };
  let server: Server<unknown> | undefined;
  let port = 0;

  const nextMessageId = (chatId: number) => {
    const n = (chatMessageIds.get(chatId) ?? 0) + 1;
    chatMessageIds.set(chatId, n);
    return n;
  };
  const ok = (result: unknown) => Response.json({ ok: true, result });
  const fail = (status: number, description: string, parameters?: Record<string, unknown>) =>
    Response.json({ ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) }, { status });

  const delivering = new Set<Promise<void>>();
  /** Webhook mode: posts until the bot answers 2xx, as Telegram does. */
  const deliver = (update: unknown) => {
    const p = (async () => {
      for (let attempt = 0; attempt < 50; attempt++) {
        const hook = state.webhook;
        if (!hook) return;
        try {
          const res = await fetch(hook.url, {
            method: "POST",
            headers: { "content-type": "application/json", ...(hook.secret ? { "x-telegram-bot-api-secret-token": hook.secret } : {}) },
            body: JSON.stringify(update),
          });
          await res.arrayBuffer();
          if (res.ok) return;
        } catch {
          // the bot is not reachable yet
        }
        await Bun.sleep(100);
      }
    })();
    delivering.add(p);
    void p.finally(() => delivering.delete(p));
  };

  async function getUpdates(body: any, signal: AbortSignal): Promise<Response> {
    const offset = Number(body.offset ?? 0);
    if (offset > confirmedBelow) confirmedBelow = offset;
    const limit = Math.min(100, Number(body.limit ?? 100));
    const timeoutS = Number(body.timeout ?? 0);
    const pending = () => updates.filter((u) => u.update_id >= confirmedBelow).slice(0, limit);
    if (!pending().length && timeoutS > 0) {
      // A newer long poll ends the older one, as Telegram does.
      waiter?.resolve();
      await new Promise<void>((resolve) => {
        const w = { resolve };
        waiter = w;
        const t = setTimeout(resolve, timeoutS * 1000);
        signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
      });
    }
    return ok(pending());
  }

  function scriptedFailure(method: string): Response | undefined {
    const queued = failures.get(method);
    const f = queued?.shift();
    if (f) {
      return fail(
        f.status,
        f.description ?? (f.status === 429 ? `Too Many Requests: retry after ${f.retryAfter ?? 1}` : "Internal Server Error"),
        f.status === 429 ? { retry_after: f.retryAfter ?? 1 } : undefined,
      );
    }
    if (rates && SEND_METHODS.has(method)) {
      const r = Math.random();
      if (r < rates.rate429) return fail(429, "Too Many Requests: retry after 1", { retry_after: 1 });
      if (r < rates.rate429 + rates.rate5xx) return fail(Math.random() < 0.5 ? 500 : 502, "Internal Server Error");
    }
    return undefined;
  }

  function visible(text: string, parseMode: string | undefined): { text: string } | { error: string } {
    if (parseMode === "HTML") return parseTelegramHtml(text);
    if (parseMode) return { error: `unsupported parse_mode ${parseMode}` };
    return { text };
  }

  async function handle(method: string, body: any, signal: AbortSignal): Promise<Response> {
    const scripted = scriptedFailure(method);
    if (scripted) return scripted;
    switch (method) {
      case "getMe":
        return ok({ ...bot, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false });
      case "setMyCommands":
        return ok(true);
      case "deleteWebhook":
        state.webhook = undefined;
        return ok(true);
      case "setWebhook":
        state.webhook = { url: String(body.url), ...(body.secret_token ? { secret: String(body.secret_token) } : {}) };
        for (const u of updates.filter((x) => x.update_id >= confirmedBelow)) deliver(u);
        confirmedBelow = nextUpdate;
        return ok(true);
      case "getWebhookInfo":
        return ok({ url: state.webhook?.url ?? "", has_custom_certificate: false, pending_update_count: 0 });
      case "getUpdates":
        if (state.webhook) return fail(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
        return getUpdates(body, signal);
      case "sendChatAction":
        return ok(true);
      case "sendMessage": {
        const chatId = Number(body.chat_id);
        if (!Number.isFinite(chatId)) return fail(400, "Bad Request: chat not found");
        const shown = visible(String(body.text ?? ""), body.parse_mode);
        if ("error" in shown) return fail(400, `Bad Request: can't parse entities: ${shown.error}`);
        if (!shown.text.trim()) return fail(400, "Bad Request: message text is empty");
        if (shown.text.length > 4096) return fail(400, "Bad Request: message is too long");
        const m: BotMessage = {
          chatId,
          messageId: nextMessageId(chatId),
          ...(body.message_thread_id ? { threadId: Number(body.message_thread_id) } : {}),
          text: shown.text,
          raw: String(body.text),
          ...(body.parse_mode ? { parseMode: body.parse_mode } : {}),
          ...(body.reply_parameters?.message_id ? { replyTo: Number(body.reply_parameters.message_id) } : {}),
          edits: 0,
          sentAt: Date.now(),
        };
        messages.push(m);
        listener?.(m);
        return ok({ message_id: m.messageId, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: "private" }, from: bot, text: m.text });
      }
      case "editMessageText": {
        const chatId = Number(body.chat_id);
        const m = messages.find((x) => x.chatId === chatId && x.messageId === Number(body.message_id));
        if (!m) return fail(400, "Bad Request: message to edit not found");
        const shown = visible(String(body.text ?? ""), body.parse_mode);
        if ("error" in shown) return fail(400, `Bad Request: can't parse entities: ${shown.error}`);
        if (shown.text.length > 4096) return fail(400, "Bad Request: MESSAGE_TOO_LONG");
        if (shown.text === m.text && String(body.text) === m.raw) {
          return fail(
            400,
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
          );
        }
        m.text = shown.text;
        m.raw = String(body.text);
        m.parseMode = body.parse_mode;
        m.edits++;
        return ok({ message_id: m.messageId, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: "private" }, text: m.text });
      }
      default:
        return fail(404, "Not Found: method not found");
    }
  }

  const start = () => {
    server = Bun.serve({
      port,
      hostname: "127.0.0.1",
      idleTimeout: 60,
      async fetch(request) {
        const url = new URL(request.url);
        const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
        if (!m) return fail(404, "Not Found");
        if (m[1] !== token) return fail(401, "Unauthorized");
        let body: any = {};
        if (request.method === "POST") {
          const text = await request.text();
          body = text ? JSON.parse(text) : {};
        }
        const res = await handle(m[2]!, body, request.signal);
        calls.push({ method: m[2]!, body, answer: res.ok ? "ok" : res.status });
        return res;
      },
    });
    port = server.port!;
  };
  start();

  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    token,
    bot,
    calls,
    messages,
    said,
    get webhook() {
      return state.webhook;
    },
    say(chat, from, text, o = {}) {
      const id = nextUpdate++;
      const message = {
        message_id: nextMessageId(chat.id),
        date: Math.floor(Date.now() / 1000),
        chat,
        from,
        ...(o.caption ? { caption: text, photo: [] } : { text }),
        ...(o.entities ? { [o.caption ? "caption_entities" : "entities"]: o.entities } : {}),
        ...(o.replyTo ? { reply_to_message: { message_id: o.replyTo, date: 0, chat, from: bot, text: "…" } } : {}),
        ...(o.threadId ? { message_thread_id: o.threadId, is_topic_message: true } : {}),
      };
      const update = { update_id: id, message };
      updates.push(update);
      said.push({ updateId: id, chatId: chat.id, messageId: message.message_id, text });
      if (state.webhook) {
        confirmedBelow = nextUpdate;
        deliver(update);
      } else {
        waiter?.resolve();
      }
      return id;
    },
    sentTo: (chatId) => messages.filter((m) => m.chatId === chatId),
    onMessage(fn) {
      listener = fn;
    },
    failNext(method, ...errors) {
      failures.set(method, [...(failures.get(method) ?? []), ...errors]);
    },
    chaos(r) {
      rates = r;
    },
    unconfirmed: () => updates.filter((u) => u.update_id >= confirmedBelow).length,
    async stop() {
      waiter?.resolve();
      await server?.stop(true);
      server = undefined;
    },
    start,
    async close() {
      state.webhook = undefined;
      waiter?.resolve();
      await Promise.all(delivering);
      await server?.stop(true);
    },
  };
}

/** A user and their private chat, for tests. */
export function person(id: number, username: string): { chat: Chat; user: User } {
  return { chat: { id, type: "private", username, first_name: username }, user: { id, is_bot: false, first_name: username, username } };
}
