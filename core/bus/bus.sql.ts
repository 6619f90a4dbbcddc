import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * The in-process bus's durable queues (edge mode): a row is a message until
 * acked; `visible_at` is the lease, pushed out on delivery and by working().
 */
export const busMessages = sqliteTable(
  "bus_messages",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    queue: text("queue").notNull(),
    subject: text("subject").notNull().default(""),
    data: blob("data", { mode: "buffer" }).notNull(),
    headers: text("headers").notNull(),
    dedupeId: text("dedupe_id"),
    deliveries: integer("deliveries").notNull().default(0),
    visibleAt: integer("visible_at").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("bus_messages_queue_idx").on(t.queue, t.visibleAt, t.seq), uniqueIndex("bus_messages_dedupe_idx").on(t.queue, t.dedupeId)],
);

/** The in-process bus's key-value buckets (leases). */
export const busKv = sqliteTable(
  "bus_kv",
  {
    bucket: text("bucket").notNull(),
    key: text("key").notNull(),
    value: blob("value", { mode: "buffer" }).notNull(),
    revision: integer("revision").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.bucket, t.key] })],
);
