import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const conversations = sqliteTable(
  "conversations",
  {
    id: text("id").primaryKey(),
    title: text("title").notNull(),
    /** Where the conversation lives: web, telegram:<chat>, discord:<channel>. */
    channel: text("channel").notNull().default("web"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    /**
     * Compaction: the model no longer sees messages up to this seq (they stay
     * stored and shown); it sees `summary` instead, the observer's
     * observations of them, in the long-lived part of the system prompt.
     */
    compactedThrough: integer("compacted_through"),
    compactedAt: integer("compacted_at"),
    summary: text("summary"),
  },
  (t) => [index("conversations_updated_idx").on(t.updatedAt)],
);

/**
 * One row per message of a turn, in order: the user's text, each assistant
 * reply (text and tool_use blocks), and the tool results fed back to the model.
 */
export const messages = sqliteTable(
  "messages",
  {
    id: text("id").primaryKey(),
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    turnId: text("turn_id").notNull(),
    role: text("role", { enum: ["user", "assistant", "tool"] }).notNull(),
    /** JSON array of content blocks (text, tool_use, tool_result). */
    content: text("content", { mode: "json" }).notNull(),
    model: text("model"),
    /** Set when the turn ended in an error; the blocks hold what was produced before it. */
    error: text("error", { mode: "json" }),
    /**
     * An assistant message still being written: the text streamed so far,
     * saved every few hundred milliseconds. One left over at start-up was cut
     * off by a crash and is marked interrupted.
     */
    partial: integer("partial", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("messages_conversation_seq_idx").on(t.conversationId, t.seq), index("messages_partial_idx").on(t.partial).where(sql`partial = 1`)],
);
