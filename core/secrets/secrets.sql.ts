import { blob, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Secrets the owner stored (`PUT /api/secrets/:name`): each value sealed with
 * AES-256-GCM under a key kept outside the database (docs/secrets.md), so a
 * copy of the database alone reads none of them.
 */
export const secrets = sqliteTable("secrets", {
  name: text("name").primaryKey(),
  nonce: blob("nonce", { mode: "buffer" }).notNull(),
  /** Ciphertext and GCM tag. */
  sealed: blob("sealed", { mode: "buffer" }).notNull(),
  /** Fingerprint of the key that sealed it (never the key): a wrong key is named at start instead of reading as damage. */
  keyId: text("key_id").notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  /** Who wrote it last: `web`, `api`, `cli`. */
  updatedBy: text("updated_by").notNull(),
});
