import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * The canonical copy of every memory, whichever VectorStore holds the vectors:
 * keyword search (FTS5, kept in step by triggers) and export read from here.
 */
export const memories = sqliteTable(
  "memories",
  {
    id: text("id").primaryKey(),
    text: text("text").notNull(),
    category: text("category").notNull(),
    /** owner (API), agent (tool), import. */
    source: text("source").notNull(),
    /** The embedding model that produced the stored vector; null while it waits to be embedded. */
    embeddedWith: text("embedded_with"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("memories_category_updated_idx").on(t.category, t.updatedAt), index("memories_embedded_idx").on(t.embeddedWith)],
);

/** What the observer extracted from a conversation. */
export const observations = sqliteTable(
  "observations",
  {
    id: text("id").primaryKey(),
    conversationId: text("conversation_id").notNull(),
    kind: text("kind").notNull(),
    text: text("text").notNull(),
    /** Message sequence numbers of the conversation this came from. */
    fromSeq: integer("from_seq").notNull(),
    toSeq: integer("to_seq").notNull(),
    /** Set once the reflector has compressed it. */
    reflectionId: text("reflection_id"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("observations_created_idx").on(t.createdAt), index("observations_reflection_idx").on(t.reflectionId)],
);

export const reflections = sqliteTable(
  "reflections",
  {
    id: text("id").primaryKey(),
    text: text("text").notNull(),
    observationCount: integer("observation_count").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("reflections_created_idx").on(t.createdAt)],
);

/** How far the observer has read each conversation. */
export const observerCursors = sqliteTable("observer_cursors", {
  conversationId: text("conversation_id").primaryKey(),
  seq: integer("seq").notNull(),
  updatedAt: integer("updated_at").notNull(),
});
