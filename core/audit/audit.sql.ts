import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Security-relevant events, newest last. Append-only: the triggers in
 * `audit.triggers.sql` (appended to the migration that creates this table)
 * abort every UPDATE and DELETE.
 */
export const auditLog = sqliteTable(
  "audit_log",
  {
    /** The rowid: ever-growing, so paging by it never skips or repeats an event. */
    id: integer("id").primaryKey(),
    at: integer("at").notNull(),
    action: text("action").notNull(),
    outcome: text("outcome", { enum: ["ok", "refused", "failed"] }).notNull(),
    /** Who: `web`, `api`, `cli`, `agent`, `worker:<id>`, `system`. */
    actor: text("actor").notNull(),
    /** The client's address, when the event came over HTTP from a socket. */
    address: text("address"),
    target: text("target"),
    /** A short JSON object; never a body, header, prompt or secret. */
    detail: text("detail"),
  },
  (t) => [index("audit_action_idx").on(t.action), index("audit_outcome_idx").on(t.outcome), check("audit_outcome_check", sql`${t.outcome} IN ('ok', 'refused', 'failed')`)],
);
