import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Browser sessions from POST /api/auth/login; the cookie carries the id, the row stores its hash. */
export const sessions = sqliteTable("sessions", {
  idHash: text("id_hash").primaryKey(),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
});
