import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Settings the owner changes at run time (model roles, prices), kept across restarts. */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value", { mode: "json" }).notNull(),
  updatedAt: integer("updated_at").notNull(),
});
