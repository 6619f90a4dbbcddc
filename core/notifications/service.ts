import { and, desc, eq, isNull, lt } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { notFound } from "../errors.ts";
import { newId } from "../util/ids.ts";
import { notifications } from "./notifications.sql.ts";

export type Notification = typeof notifications.$inferSelect;

export interface Notify {
  code: string;
  message: string;
  /** Made at most once per key; later calls with the same key are no-ops. */
  once?: string;
}

/**
 * Telling the owner: the one `notify` every area uses (budget reached, a
 * schedule failing, a companion gone, a task finished). Kept in SQLite for the
 * console (`GET /api/notifications`) and handed to listeners: the chat gateway
 * delivers each to the chats the owner chose, through its outbox.
 */
export class Notifications {
  private listeners: ((n: Notification) => void)[] = [];

  constructor(
    private db: Db,
    private now: () => number = Date.now,
  ) {}

  notify(n: Notify): Notification | undefined {
    const row: Notification = { id: newId(), code: n.code, message: n.message.slice(0, 2000), onceKey: n.once ?? null, createdAt: this.now(), readAt: null };
    return this.db.$client.transaction(() => {
      const inserted = this.db.insert(notifications).values(row).onConflictDoNothing().returning({ id: notifications.id }).all();
      if (!inserted.length) return undefined;
      for (const fn of this.listeners) {
        try {
          fn(row);
        } catch {
          // a listener's failure must not reach whoever raised the notification
        }
      }
      return row;
    })();
  }

  /**
   * Runs inside the transaction that stores each notification, so what a
   * listener writes (the gateway's outbox rows for the owner's chats) is
   * stored with it or not at all. Listeners must be quick and synchronous.
   */
  onNotify(fn: (n: Notification) => void): void {
    this.listeners.push(fn);
  }

  list(q: { limit: number; unread?: boolean; before?: number }): Notification[] {
    const where = and(q.unread ? isNull(notifications.readAt) : undefined, q.before !== undefined ? lt(notifications.createdAt, q.before) : undefined);
    return this.db.select().from(notifications).where(where).orderBy(desc(notifications.createdAt), desc(notifications.id)).limit(q.limit).all();
  }

  markRead(id: string): Notification {
    const row = this.db.update(notifications).set({ readAt: this.now() }).where(eq(notifications.id, id)).returning().get();
    if (!row) throw notFound("notification", id);
    return row;
  }
}
