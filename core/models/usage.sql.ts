import { index, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Every model call's tokens and cost, successful or not. */
export const usage = sqliteTable(
  "usage",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    /** UTC day, YYYY-MM-DD, so daily sums need no date math in SQL. */
    day: text("day").notNull(),
    role: text("role").notNull(),
    provider: text("provider").notNull(),
    model: text("model").notNull(),
    inputTokens: integer("input_tokens").notNull(),
    outputTokens: integer("output_tokens").notNull(),
    cacheReadTokens: integer("cache_read_tokens").notNull().default(0),
    cacheWriteTokens: integer("cache_write_tokens").notNull().default(0),
    costUsd: real("cost_usd").notNull(),
    /** What prompt caching saved on this call (negative when it only wrote the cache). */
    savedUsd: real("saved_usd").notNull().default(0),
    conversationId: text("conversation_id"),
    /** The brain's turn, so a stored answer shows what it cost. */
    turnId: text("turn_id"),
    /** Where the work came from: web, api, telegram, discord, schedule, job, task; null for memory upkeep. */
    origin: text("origin"),
  },
  (t) => [index("usage_day_idx").on(t.day, t.model), index("usage_conversation_idx").on(t.conversationId)],
);
