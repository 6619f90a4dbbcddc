import { integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * One row per skill (tiers 0-2; extensions announce themselves and live in
 * memory). A skill runs only while `approvedHash` equals the hash of its
 * spec as it is now: any change to what would run needs a new approval.
 */
export const skills = sqliteTable(
  "skills",
  {
    id: text("id").primaryKey(),
    /** The tools' namespace (`<name>__<tool>`). */
    name: text("name").notNull(),
    tier: integer("tier").notNull(),
    /** What runs: instructions, command, args, env names, network, paths, URL... (spec.ts). */
    spec: text("spec", { mode: "json" }).notNull(),
    /** sha256 of the canonical spec. */
    hash: text("hash").notNull(),
    /** The hash the owner approved; null while pending. */
    approvedHash: text("approved_hash"),
    approvedBy: text("approved_by"),
    approvedAt: integer("approved_at"),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    /** builtin (the filesystem skill), owner (console, API), agent (propose_skill), upload (a zip), dir (the data dir's skills/), registry (a proposal from a search). */
    source: text("source", { enum: ["builtin", "owner", "agent", "upload", "dir", "registry"] }).notNull(),
    /** The tools its server listed last (name, description, input schema), so they are offered before it is started. */
    tools: text("tools", { mode: "json" }),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("skills_name_idx").on(t.name)],
);
