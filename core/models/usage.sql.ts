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
    conversationId: text("conversation_id"),
    /** Where the work came from: web, api, telegram, discord, schedule, job, task; null for memory upkeep. */
    origin: text("origin"),
  },
  (t) => [index("usage_day_idx").on(t.day, t.model)],
);
