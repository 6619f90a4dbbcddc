import { and, desc, eq, like, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { notFound } from "../errors.ts";
import type { Block, ChatMessage } from "../models/types.ts";
import { newId } from "../util/ids.ts";
import { conversations, messages } from "./conversation.sql.ts";

export type Conversation = typeof conversations.$inferSelect;
export type StoredMessage = Omit<typeof messages.$inferSelect, "content" | "error"> & {
  content: Block[];
  error: { code: string; message: string } | null;
};

export const TITLE_MAX = 200;

export function titleFrom(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 60 ? `${line.slice(0, 57)}...` : line || "New conversation";
}

export class ConversationStore {
  constructor(private db: Db) {}

  create(title: string, channel = "web", id = newId()): Conversation {
    const now = Date.now();
    const row = { id, title: title.slice(0, TITLE_MAX), channel, createdAt: now, updatedAt: now };
    this.db.insert(conversations).values(row).run();
    return row;
  }

  find(id: string): Conversation | undefined {
    return this.db.select().from(conversations).where(eq(conversations.id, id)).get();
  }

  get(id: string): Conversation {
    const c = this.find(id);
    if (!c) throw notFound("conversation", id);
    return c;
  }

  list(opts: { limit: number; before?: number; q?: string }): Conversation[] {
    const where = and(
      opts.before !== undefined ? lt(conversations.updatedAt, opts.before) : undefined,
      opts.q ? like(conversations.title, `%${opts.q.replace(/[%_\\]/g, (c) => `\\${c}`)}%`) : undefined,
    );
    return this.db.select().from(conversations).where(where).orderBy(desc(conversations.updatedAt)).limit(opts.limit).all();
  }

  rename(id: string, title: string): Conversation {
    this.get(id);
    this.db.update(conversations).set({ title: title.slice(0, TITLE_MAX) }).where(eq(conversations.id, id)).run();
    return this.get(id);
  }

  delete(id: string): void {
    const gone = this.db.delete(conversations).where(eq(conversations.id, id)).returning({ id: conversations.id }).all();
    if (gone.length === 0) throw notFound("conversation", id);
  }

  append(m: {
    conversationId: string;
    turnId: string;
    role: "user" | "assistant" | "tool";
    content: Block[];
    model?: string;
    error?: { code: string; message: string };
  }): StoredMessage {
    const now = Date.now();
    const id = newId();
    return this.db.transaction((tx) => {
      const next = tx
        .select({ seq: sql<number>`coalesce(max(${messages.seq}), 0) + 1` })
        .from(messages)
        .where(eq(messages.conversationId, m.conversationId))
        .get();
      const row = {
        id,
        conversationId: m.conversationId,
        seq: next?.seq ?? 1,
        turnId: m.turnId,
        role: m.role,
        content: m.content,
        model: m.model ?? null,
        error: m.error ?? null,
        createdAt: now,
      };
      tx.insert(messages).values(row).run();
      tx.update(conversations).set({ updatedAt: now }).where(eq(conversations.id, m.conversationId)).run();
      return row;
    });
  }

  messages(conversationId: string): StoredMessage[] {
    return this.db
      .select()
      .from(messages)
      .where(eq(messages.conversationId, conversationId))
      .orderBy(messages.seq)
      .all() as StoredMessage[];
  }

  /**
   * The conversation as the model sees it: tool results ride in user messages,
   * neighbours of one role merge, and a tool call left without its result (a
   * turn that crashed) is dropped so the history stays valid for every provider.
   * Older messages go first when the history passes `maxChars`.
   */
  history(conversationId: string, maxChars = 400_000): ChatMessage[] {
    return toHistory(this.messages(conversationId), maxChars);
  }
}

export function toHistory(rows: Pick<StoredMessage, "role" | "content">[], maxChars: number): ChatMessage[] {
  const answered = new Set<string>();
  for (const r of rows) for (const b of r.content) if (b.type === "tool_result") answered.add(b.tool_use_id);
  const asked = new Set<string>();
  const out: ChatMessage[] = [];
  for (const r of rows) {
    const role = r.role === "assistant" ? "assistant" : "user";
    const content = r.content.filter((b) => {
      if (b.type === "tool_use") {
        if (!answered.has(b.id)) return false;
        asked.add(b.id);
        return true;
      }
      if (b.type === "tool_result") return asked.has(b.tool_use_id);
      return b.text.length > 0;
    });
    if (!content.length) continue;
    const last = out[out.length - 1];
    if (last && last.role === role) last.content.push(...content);
    else out.push({ role, content: [...content] });
  }
  // Drop whole exchanges from the front until it fits; the history must open with plain user text.
  let size = out.reduce((n, m) => n + JSON.stringify(m.content).length, 0);
  while (out.length > 1 && size > maxChars) {
    size -= JSON.stringify(out.shift()!.content).length;
  }
  while (out.length && (out[0]!.role !== "user" || out[0]!.content.some((b) => b.type === "tool_result"))) out.shift();
  return out;
}
