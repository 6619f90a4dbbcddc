/**
 * A local Discord for the real discord.js: the REST API under `/api/v10`
 * (through DISCORD_API_BASE = `url + "/api"`) and the gateway WebSocket at
 * `/gateway` (HELLO, IDENTIFY → READY and GUILD_CREATE, heartbeats,
 * MESSAGE_CREATE). One guild with a text channel and a thread; direct
 * messages arrive with `channel_type: 1`, as Discord sends them. Messages the
 * bot sends are kept per channel; a send with `enforce_nonce` and a nonce seen
 * before returns the first message instead of making another, as Discord does.
 */
import type { Server, ServerWebSocket } from "bun";

export interface DiscordUser {
  id: string;
  username: string;
  global_name: string | null;
  discriminator: string;
  avatar: null;
  bot?: boolean;
}

export interface StoredMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: DiscordUser;
  content: string;
  nonce?: string;
  message_reference?: { message_id: string };
  mentions: DiscordUser[];
  timestamp: string;
  edits: number;
  allowedMentions?: unknown;
}

export interface DiscordStandIn {
  url: string;
  /** What to set DISCORD_API_BASE to. */
  apiBase: string;
  /** The gateway's own address (what GET /gateway/bot names unless told otherwise). */
  gatewayUrl: string;
  token: string;
  bot: DiscordUser;
  guildId: string;
  /** The guild's text channel and a thread under it. */
  channelId: string;
  threadId: string;
  /** Gateway connections that identified. */
  sessions(): number;
  /** A user's direct message to the bot; returns its message. Stored, and dispatched to connected sessions. */
  dm(user: DiscordUser, text: string): StoredMessage;
  /** A message in a guild channel (or the thread), mentioning the bot if asked. */
  post(channelId: string, user: DiscordUser, text: string, opts?: { mention?: boolean }): StoredMessage;
  /** What the bot sent to a channel, as it shows now. */
  sentTo(channelId: string): StoredMessage[];
  /** The DM channel of a user, once they wrote. */
  dmChannel(userId: string): string | undefined;
  /** Every REST call: method, route, status answered. */
  calls: { method: string; path: string; status: number }[];
  /** Answer the next calls matching `route` (e.g. "POST /messages") with these errors; `accept` stores the message first. */
  failNext(route: string, ...errors: { status: number; retryAfter?: number; accept?: boolean }[]): void;
  /** Makes GET /gateway/bot name this URL instead of the real one. */
  advertise(url: string | undefined): void;
  close(): Promise<void>;
}

export const user = (id: string, username: string): DiscordUser => ({ id, username, global_name: username, discriminator: "0", avatar: null });

interface Session {
  identified: boolean;
  seq: number;
}

export function startDiscordStandIn(opts: { token?: string } = {}): DiscordStandIn {
  const token = opts.token ?? "discord-test-token-0123456789";
  const bot: DiscordUser = { ...user("900000000000000001", "bakerst"), bot: true };
  const guildId = "900000000000000100";
  const channelId = "900000000000000200";
  const threadId = "900000000000000300";
  let snowflake = 1_200_000_000_000_000_000n;
  const nextId = () => String(++snowflake);
  const history = new Map<string, StoredMessage[]>();
  const dms = new Map<string, string>();
  const nonces = new Map<string, StoredMessage>();
  const calls: DiscordStandIn["calls"] = [];
  const failures: { route: string; status: number; retryAfter?: number; accept?: boolean }[] = [];
  const sockets = new Set<ServerWebSocket<Session>>();
  let advertised: string | undefined;
  const now = () => new Date().toISOString();

  const channelOf = (id: string) => {
    if (id === channelId) return { id, type: 0, name: "general", guild_id: guildId, position: 0, permission_overwrites: [] };
    if (id === threadId)
      return {
        id,
        type: 11,
        name: "the-case",
        guild_id: guildId,
        parent_id: channelId,
        owner_id: bot.id,
        thread_metadata: { archived: false, auto_archive_duration: 1440, archive_timestamp: now(), locked: false },
        member_count: 1,
        message_count: 0,
      };
    const dmUser = [...dms].find(([, ch]) => ch === id)?.[0];
    if (dmUser) return { id, type: 1, recipients: [user(dmUser, `user${dmUser.slice(-3)}`)], last_message_id: null };
    return undefined;
  };

  const store = (m: StoredMessage) => {
    const list = history.get(m.channel_id) ?? [];
    list.push(m);
    history.set(m.channel_id, list);
  };

  const dispatch = (t: string, d: unknown) => {
    for (const ws of sockets) {
      if (!ws.data.identified) continue;
      ws.send(JSON.stringify({ op: 0, t, s: ++ws.data.seq, d }));
    }
  };

  const wire = (m: StoredMessage, extra: Record<string, unknown> = {}) => ({
    id: m.id,
    channel_id: m.channel_id,
    ...(m.guild_id ? { guild_id: m.guild_id, member: { roles: [], joined_at: now(), deaf: false, mute: false, flags: 0 } } : {}),
    author: m.author,
    content: m.content,
    timestamp: m.timestamp,
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: m.mentions,
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    type: m.message_reference ? 19 : 0,
    flags: 0,
    ...(m.nonce ? { nonce: m.nonce } : {}),
    ...(m.message_reference ? { message_reference: { ...m.message_reference, channel_id: m.channel_id } } : {}),
    ...extra,
  });

  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    status === 204 ? new Response(null, { status, headers }) : Response.json(body, { status, headers });
  const apiError = (status: number, message: string, code = 0) => json(status, { message, code });

  function fail(route: string): { response?: Response; accept?: boolean } {
    const i = failures.findIndex((f) => f.route === route);
    if (i < 0) return {};
    const f = failures.splice(i, 1)[0]!;
    if (f.status === 429) {
      const after = f.retryAfter ?? 0.2;
      return { response: json(429, { message: "You are being rate limited.", retry_after: after, global: false }, { "retry-after": String(after) }) };
    }
    return { response: apiError(f.status, f.status >= 500 ? "Internal Server Error" : "Bad Request"), accept: f.accept };
  }

  async function rest(request: Request, path: string): Promise<Response> {
    if (request.headers.get("authorization") !== `Bot ${token}`) return apiError(401, "401: Unauthorized");
    const method = request.method;
    const body = method === "POST" || method === "PATCH" ? await request.json().catch(() => ({})) : {};
    if (method === "GET" && path === "/gateway/bot") {
      return json(200, { url: advertised ?? gatewayUrl, shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 } });
    }
    if (method === "GET" && path === "/users/@me") return json(200, bot);
    let m = /^\/channels\/(\d+)$/.exec(path);
    if (m && method === "GET") {
      const ch = channelOf(m[1]!);
      return ch ? json(200, ch) : apiError(404, "Unknown Channel", 10003);
    }
    m = /^\/channels\/(\d+)\/typing$/.exec(path);
    if (m && method === "POST") {
      const f = fail("POST /typing");
      return f.response ?? json(204, null);
    }
    m = /^\/channels\/(\d+)\/messages$/.exec(path);
    if (m && method === "GET") {
      const url = new URL(request.url);
      const after = BigInt(url.searchParams.get("after") ?? "0");
      const limit = Number(url.searchParams.get("limit") ?? "50");
      const list = (history.get(m[1]!) ?? []).filter((x) => BigInt(x.id) > after).slice(0, limit);
      return json(
        200,
        list.reverse().map((x) => wire(x)),
      );
    }
    if (m && method === "POST") {
      const channel = m[1]!;
      if (!channelOf(channel)) return apiError(404, "Unknown Channel", 10003);
      const f = fail("POST /messages");
      if (f.response && !f.accept) return f.response;
      if (typeof body.content !== "string" || !body.content.trim()) return apiError(400, "Cannot send an empty message", 50006);
      if (body.content.length > 2000) return apiError(400, "Invalid Form Body: content: Must be 2000 or fewer in length.", 50035);
      if (body.enforce_nonce && body.nonce && nonces.has(String(body.nonce))) return json(200, wire(nonces.get(String(body.nonce))!));
      const sent: StoredMessage = {
        id: nextId(),
        channel_id: channel,
        ...(channel === channelId || channel === threadId ? { guild_id: guildId } : {}),
        author: bot,
        content: body.content,
        ...(body.nonce ? { nonce: String(body.nonce) } : {}),
        ...(body.message_reference?.message_id ? { message_reference: { message_id: String(body.message_reference.message_id) } } : {}),
        mentions: [],
        timestamp: now(),
        edits: 0,
        allowedMentions: body.allowed_mentions,
      };
      store(sent);
      if (body.nonce) nonces.set(String(body.nonce), sent);
      // Accepted, then the answer lost: what a resend must not duplicate.
      if (f.response) return f.response;
      return json(200, wire(sent));
    }
    m = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path);
    if (m && method === "PATCH") {
      const f = fail("PATCH /messages");
      if (f.response) return f.response;
      const msg = (history.get(m[1]!) ?? []).find((x) => x.id === m![2]);
      if (!msg) return apiError(404, "Unknown Message", 10008);
      if (typeof body.content === "string") {
        if (body.content.length > 2000) return apiError(400, "Invalid Form Body", 50035);
        msg.content = body.content;
        msg.edits++;
      }
      return json(200, wire(msg));
    }
    return apiError(404, `404: Not Found (${method} ${path})`);
  }

  const server: Server<Session> = Bun.serve<Session>({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 60,
    async fetch(request, srv) {
      const url = new URL(request.url);
      if (url.pathname === "/gateway" || url.pathname === "/gateway/") {
        if (srv.upgrade(request, { data: { identified: false, seq: 0 } })) return undefined as unknown as Response;
        return new Response("expected a WebSocket", { status: 400 });
      }
      if (!url.pathname.startsWith("/api/v10/")) return apiError(404, "404: Not Found");
      const path = url.pathname.slice("/api/v10".length);
      const res = await rest(request, path);
      const route = `${request.method} ${path.replace(/\d{6,}/g, ":id")}`;
      calls.push({ method: request.method, path: route, status: res.status });
      return res;
    },
    websocket: {
      open(ws) {
        sockets.add(ws);
        ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 } }));
      },
      message(ws, raw) {
        const msg = JSON.parse(String(raw)) as { op: number; d: any };
        if (msg.op === 1) {
          ws.send(JSON.stringify({ op: 11 }));
        } else if (msg.op === 2) {
          if (msg.d?.token !== token) {
            ws.close(4004, "Authentication failed.");
            return;
          }
          ws.data.identified = true;
          ws.send(
            JSON.stringify({
              op: 0,
              t: "READY",
              s: ++ws.data.seq,
              d: {
                v: 10,
                user: bot,
                guilds: [{ id: guildId, unavailable: true }],
                session_id: `session-${ws.data.seq}-${Date.now()}`,
                resume_gateway_url: gatewayUrl,
                application: { id: bot.id, flags: 0 },
                shard: [0, 1],
                private_channels: [],
              },
            }),
          );
          ws.send(
            JSON.stringify({
              op: 0,
              t: "GUILD_CREATE",
              s: ++ws.data.seq,
              d: {
                id: guildId,
                name: "Baker Street",
                icon: null,
                owner_id: "900000000000000555",
                roles: [{ id: guildId, name: "@everyone", permissions: "0", position: 0, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 }],
                emojis: [],
                stickers: [],
                features: [],
                member_count: 2,
                members: [],
                channels: [channelOf(channelId)],
                threads: [channelOf(threadId)],
                presences: [],
                voice_states: [],
                stage_instances: [],
                guild_scheduled_events: [],
                large: false,
                unavailable: false,
                joined_at: now(),
                premium_tier: 0,
                system_channel_flags: 0,
                verification_level: 0,
                default_message_notifications: 0,
                explicit_content_filter: 0,
                mfa_level: 0,
                nsfw_level: 0,
                preferred_locale: "en-US",
              },
            }),
          );
        } else if (msg.op === 6) {
          // No sessions are kept: a resume is refused, and discord.js identifies again.
          ws.send(JSON.stringify({ op: 9, d: false }));
        }
      },
      close(ws) {
        sockets.delete(ws);
      },
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  const gatewayUrl = `ws://127.0.0.1:${server.port}/gateway`;

  return {
    url,
    apiBase: `${url}/api`,
    gatewayUrl,
    token,
    bot,
    guildId,
    channelId,
    threadId,
    calls,
    sessions: () => [...sockets].filter((s) => s.data.identified).length,
    dm(author, text) {
      let ch = dms.get(author.id);
      if (!ch) {
        ch = nextId();
        dms.set(author.id, ch);
      }
      const m: StoredMessage = { id: nextId(), channel_id: ch, author, content: text, mentions: [], timestamp: now(), edits: 0 };
      store(m);
      dispatch("MESSAGE_CREATE", wire(m, { channel_type: 1 }));
      return m;
    },
    post(channel, author, text, o = {}) {
      const m: StoredMessage = {
        id: nextId(),
        channel_id: channel,
        guild_id: guildId,
        author,
        content: o.mention ? `<@${bot.id}> ${text}` : text,
        mentions: o.mention ? [bot] : [],
        timestamp: now(),
        edits: 0,
      };
      store(m);
      dispatch("MESSAGE_CREATE", wire(m, { channel_type: channel === threadId ? 11 : 0 }));
      return m;
    },
    sentTo: (channel) => (history.get(channel) ?? []).filter((m) => m.author.id === bot.id),
    dmChannel: (userId) => dms.get(userId),
    failNext(route, ...errors) {
      for (const e of errors) failures.push({ route, ...e });
    },
    advertise(u) {
      advertised = u;
    },
    async close() {
      for (const ws of sockets) ws.close(1000, "closing");
      await server.stop(true);
    },
  };
}
