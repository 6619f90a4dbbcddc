import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** One row per companion ever paired; a revoked one keeps its row so its key is still recognised, and refused. */
export const companions = sqliteTable("companions", {
  id: text("id").primaryKey(),
  /** Its nkey public key: the NATS identity it connects with and the key it signs with. */
  publicKey: text("public_key").notNull(),
  createdAt: integer("created_at").notNull(),
  revokedAt: integer("revoked_at"),
  lastSeenAt: integer("last_seen_at"),
  /** Its last announcement (host, version, platform, capabilities, allowed paths). */
  info: text("info", { mode: "json" }),
  /** Its last heartbeat (load, memory, active tasks, spool). */
  heartbeat: text("heartbeat", { mode: "json" }),
});
