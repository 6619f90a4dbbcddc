import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Chats that may talk to the agent. A chat nobody approved is `pending` with a
 * short code it was told; the owner approves the code (console or CLI) and the
 * chat becomes `paired`; a revoked chat is refused like a stranger.
 */
export const gatewayPairings = sqliteTable(
  "gateway_pairings",
  {
    id: text("id").primaryKey(),
    /** `telegram:<chat id>` or `discord:<channel id>` (a thread pairs through its channel). */
    pairKey: text("pair_key").notNull(),
    platform: text("platform", { enum: ["telegram", "discord"] }).notNull(),
    status: text("status", { enum: ["pending", "paired", "revoked"] }).notNull(),
    kind: text("kind", { enum: ["private", "group", "channel"] }).notNull(),
    /** What the owner sees: `@alice`, a group's title, `#general`. */
    title: text("title").notNull(),
    /** Who asked first (a display name and the platform's user id); never what they wrote. */
    requestedBy: text("requested_by"),
    code: text("code"),
    codeExpiresAt: integer("code_expires_at"),
    /** When the chat was last told its code: it is told again only after a while. */
    codeSentAt: integer("code_sent_at"),
    /** Owner notifications go to this chat too. */
    notify: integer("notify", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
    pairedAt: integer("paired_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("gateway_pairings_key_idx").on(t.pairKey), uniqueIndex("gateway_pairings_code_idx").on(t.code), index("gateway_pairings_status_idx").on(t.status)],
);

/** The conversation each chat (or Discord thread) is in now; `/new` clears it. */
export const gatewayChats = sqliteTable("gateway_chats", {
  /** `telegram:<chat>[:<topic>]` or `discord:<channel or thread>`: where replies go. */
  chatKey: text("chat_key").primaryKey(),
  pairKey: text("pair_key").notNull(),
  conversationId: text("conversation_id"),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Every message from a paired chat, recorded before the platform is told it
 * arrived: the update id is unique, so an update read again after a restart
 * is recognised. `started` is written in the transaction that stores the
 * user's message and opens its turn, so no message runs twice.
 */
export const gatewayInbox = sqliteTable(
  "gateway_inbox",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** `telegram:update:<update_id>`, `discord:message:<id>`. */
    updateKey: text("update_key").notNull(),
    chatKey: text("chat_key").notNull(),
    pairKey: text("pair_key").notNull(),
    kind: text("kind", { enum: ["message", "new", "command"] }).notNull(),
    /** The text until the turn has stored it as the conversation's message; then cleared. */
    text: text("text"),
    /** The platform's id of the message, to quote it in the answer. */
    messageId: text("message_id"),
    status: text("status", { enum: ["received", "started", "answered", "dropped"] }).notNull(),
    turnId: text("turn_id"),
    conversationId: text("conversation_id"),
    receivedAt: integer("received_at").notNull(),
    doneAt: integer("done_at"),
  },
  (t) => [uniqueIndex("gateway_inbox_update_idx").on(t.updateKey), index("gateway_inbox_open_idx").on(t.chatKey, t.id).where(sql`status IN ('received', 'started')`)],
);

/**
 * Every message the gateway sends or edits, in order per chat (`lane`). A row
 * stays pending until the platform answers with its message id; 429 and 5xx
 * only move `next_at`. Pending rows are sent after a restart.
 */
export const gatewayOutbox = sqliteTable(
  "gateway_outbox",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** The chat key: rows of one lane go out one at a time, in id order. */
    lane: text("lane").notNull(),
    op: text("op", { enum: ["send", "edit"] }).notNull(),
    /** For an edit: the send row whose message it changes. */
    of: integer("of"),
    /** A row with a key is made once (`turn:<id>:<chunk>`, `notify:<id>:<chat>`). */
    dedupeKey: text("dedupe_key"),
    /** The Markdown it was rendered from; sent as plain text if the platform cannot parse the rendering. */
    source: text("source").notNull(),
    /** What the platform gets (Telegram HTML, Discord Markdown); for a sent row, what the message shows now. */
    text: text("text").notNull(),
    format: text("format", { enum: ["html", "markdown", "plain"] }).notNull(),
    replyTo: text("reply_to"),
    status: text("status", { enum: ["pending", "sent", "failed"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAt: integer("next_at").notNull(),
    error: text("error"),
    /** The platform's message id, once it accepted the message. */
    messageId: text("message_id"),
    createdAt: integer("created_at").notNull(),
    sentAt: integer("sent_at"),
  },
  (t) => [uniqueIndex("gateway_outbox_dedupe_idx").on(t.dedupeKey), index("gateway_outbox_status_idx").on(t.status, t.lane, t.id), index("gateway_outbox_of_idx").on(t.of)],
);

/** Jobs and tasks a chat's turn started and did not wait for: their end is reported to the chat. */
export const gatewayJobWatch = sqliteTable("gateway_job_watch", {
  /** The job's or the task's id (both are UUIDv7, never the same). */
  jobId: text("job_id").primaryKey(),
  kind: text("kind", { enum: ["job", "task"] })
    .notNull()
    .default("job"),
  chatKey: text("chat_key").notNull(),
  createdAt: integer("created_at").notNull(),
  reportedAt: integer("reported_at"),
});
