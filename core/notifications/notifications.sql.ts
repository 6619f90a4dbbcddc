import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Things the owner should know that happened while nobody was looking (budget spent, a schedule failing...). */
export const notifications = sqliteTable(
  "notifications",
  {
    id: text("id").primaryKey(),
    code: text("code").notNull(),
    message: text("message").notNull(),
    /** A notification with a key is made at most once per key (e.g. `budget_exceeded:2026-11-30`). */
    onceKey: text("once_key"),
    createdAt: integer("created_at").notNull(),
    readAt: integer("read_at"),
  },
  (t) => [uniqueIndex("notifications_once_idx").on(t.onceKey), index("notifications_created_idx").on(t.createdAt)],
);
