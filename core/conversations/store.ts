import { and, desc, eq, like, lt } from "drizzle-orm";
import type { Block, ChatMessage } from "../agent/types.ts";
import type { Db } from "../db/client.ts";
import { notFound } from "../errors.ts";
import { newId } from "../util/ids.ts";
import { conversations, type messages } from "./conversation.sql.ts";

export type Conversation = typeof conversations.$inferSelect;
export type StoredMessage = Omit<typeof messages.$inferSelect, "content" | "error" | "partial"> & {
  partial: boolean;
  content: Block[];
  error: { code: string; message: string } | null;
};

export const TITLE_MAX = 200;

export function titleFrom(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 60 ? `${line.slice(0, 57)}...` : line || "New conversation";
}

type MessageRow = {
  id: string;
  conversationId: string;
  seq: number;
  turnId: string;
  role: StoredMessage["role"];
  content: string;
  model: string | null;
  error: string | null;
  partial: number;
  createdAt: number;
};

const parseRow = (r: MessageRow): StoredMessage => ({ ...r, content: JSON.parse(r.content), error: r.error ? JSON.parse(r.error) : null, partial: r.partial === 1 });

/** What a message cut off by a crash or a kill says. */
export const INTERRUPTED = { code: "interrupted", message: "bakerst stopped before this answer was finished; what it had said is kept" } as const;

/**
 * Conversations and their messages. The per-turn queries (create, find,
 * append, history) are cached bun:sqlite statements: drizzle re-prepares each
 * query, which cost more than the query itself on the chat hot path. The rest
 * goes through drizzle.
 */
export class ConversationStore {
  private q;

  constructor(private db: Db) {
    const c = db.$client;
    this.q = {
      insertConversation: c.query("insert into conversations (id, title, channel, created_at, updated_at) values ($id, $title, $channel, $createdAt, $updatedAt)"),
      findConversation: c.query<Conversation, { id: string }>(
        "select id, title, channel, created_at as createdAt, updated_at as updatedAt, compacted_through as compactedThrough, compacted_at as compactedAt, summary from conversations where id = $id",
      ),
      compact: c.query("update conversations set compacted_through = $through, compacted_at = $at, summary = $summary where id = $id"),
      turns: c.query<{ turnId: string; fromSeq: number; toSeq: number; chars: number }, { conversationId: string; after: number }>(
        "select turn_id as turnId, min(seq) as fromSeq, max(seq) as toSeq, sum(length(content)) as chars from messages where conversation_id = $conversationId and seq > $after group by turn_id order by fromSeq",
      ),
      nextSeq: c.query<{ seq: number }, { conversationId: string }>("select coalesce(max(seq), 0) + 1 as seq from messages where conversation_id = $conversationId"),
      insertMessage: c.query(
        "insert into messages (id, conversation_id, seq, turn_id, role, content, model, error, partial, created_at) values ($id, $conversationId, $seq, $turnId, $role, $content, $model, $error, $partial, $createdAt)",
      ),
      writePartial: c.query("update messages set content = $content where id = $id and partial = 1"),
      finish: c.query("update messages set content = $content, model = $model, error = $error, partial = 0 where id = $id"),
      interrupt: c.query("update messages set partial = 0, error = $error where partial = 1"),
      touch: c.query("update conversations set updated_at = $now where id = $id"),
      messages: c.query<MessageRow, { conversationId: string }>(
        "select id, conversation_id as conversationId, seq, turn_id as turnId, role, content, model, error, partial, created_at as createdAt from messages where conversation_id = $conversationId order by seq",
      ),
      messagesAfter: c.query<MessageRow, { conversationId: string; after: number }>(
        "select id, conversation_id as conversationId, seq, turn_id as turnId, role, content, model, error, partial, created_at as createdAt from messages where conversation_id = $conversationId and seq > $after order by seq",
      ),
    };
  }

  create(title: string, channel = "web", id = newId()): Conversation {
    const now = Date.now();
    const row = { id, title: title.slice(0, TITLE_MAX), channel, createdAt: now, updatedAt: now };
    this.q.insertConversation.run(row);
    return { ...row, compactedThrough: null, compactedAt: null, summary: null };
  }

  find(id: string): Conversation | undefined {
    return this.q.findConversation.get({ id }) ?? undefined;
  }

  get(id: string): Conversation {
    const c = this.find(id);
    if (!c) throw notFound("conversation", id);
    return c;
  }

  list(opts: { limit: number; before?: number; q?: string }) {
    const where = and(
      opts.before !== undefined ? lt(conversations.updatedAt, opts.before) : undefined,
      opts.q ? like(conversations.title, `%${opts.q.replace(/[%_\\]/g, (c) => `\\${c}`)}%`) : undefined,
    );
    const { id, title, channel, createdAt, updatedAt } = conversations;
    return this.db.select({ id, title, channel, createdAt, updatedAt }).from(conversations).where(where).orderBy(desc(conversations.updatedAt)).limit(opts.limit).all();
  }

  rename(id: string, title: string) {
    this.get(id);
    this.db
      .update(conversations)
      .set({ title: title.slice(0, TITLE_MAX) })
      .where(eq(conversations.id, id))
      .run();
    const { summary: _, ...c } = this.get(id);
    return c;
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
    /** An assistant message that streaming will fill in (`writePartial`, then `finish`). */
    partial?: boolean;
  }): StoredMessage {
    const now = Date.now();
    const row: StoredMessage = {
      id: newId(),
      conversationId: m.conversationId,
      seq: 0,
      turnId: m.turnId,
      role: m.role,
      content: m.content,
      model: m.model ?? null,
      error: m.error ?? null,
      partial: m.partial ?? false,
      createdAt: now,
    };
    this.db.$client.transaction(() => {
      row.seq = this.q.nextSeq.get({ conversationId: m.conversationId })?.seq ?? 1;
      this.q.insertMessage.run({ ...row, content: JSON.stringify(row.content), error: row.error ? JSON.stringify(row.error) : null, partial: row.partial ? 1 : 0 });
      this.q.touch.run({ now, id: m.conversationId });
    })();
    return row;
  }

  /** Saves what an assistant message has streamed so far. */
  writePartial(id: string, content: Block[]): void {
    this.q.writePartial.run({ id, content: JSON.stringify(content) });
  }

  /** Ends an assistant message: its final blocks, the model, and the error if the turn failed. */
  finish(id: string, m: { content: Block[]; model?: string; error?: { code: string; message: string } }): void {
    this.q.finish.run({ id, content: JSON.stringify(m.content), model: m.model ?? null, error: m.error ? JSON.stringify(m.error) : null });
  }

  /** At start-up: messages left partial were cut off (a crash, a kill) and are marked so. Returns how many. */
  markInterrupted(): number {
    return this.q.interrupt.run({ error: JSON.stringify(INTERRUPTED) }).changes;
  }

  /**
   * Opens a turn in one transaction: creates the conversation when there is
   * none yet, reads the history the model will see, and stores the owner's
   * message. One commit instead of three on the chat path.
   */
  openTurn(t: { conversationId?: string; title: string; channel: string; turnId: string; message: string }): {
    conversationId: string;
    history: History;
    /** The turn's first assistant message, partial until the model has answered. */
    answerId: string;
  } {
    return this.db.$client.transaction(() => {
      let conversationId = t.conversationId;
      let history: History = { messages: [], chars: 0, dropped: 0 };
      if (conversationId) {
        history = this.history(conversationId, MAX_HISTORY_CHARS, this.get(conversationId).compactedThrough ?? 0);
      } else {
        conversationId = this.create(t.title, t.channel).id;
      }
      const content: Block[] = [{ type: "text", text: t.message }];
      this.append({ conversationId, turnId: t.turnId, role: "user", content });
      history.messages.push({ role: "user", content });
      history.chars += JSON.stringify(content).length;
      const answerId = this.append({ conversationId, turnId: t.turnId, role: "assistant", content: [], partial: true }).id;
      return { conversationId, history, answerId };
    })();
  }

  messages(conversationId: string): StoredMessage[] {
    return this.q.messages.all({ conversationId }).map(parseRow);
  }

  /**
   * The conversation as the model sees it: after its compaction point, tool
   * results riding in user messages, neighbours of one role merged, a tool
   * call left without its result (a turn that crashed) and a refused turn
   * left out, so the history stays valid for every provider. Past `maxChars`
   * (a conversation that could not be compacted) the oldest exchanges go.
   */
  history(conversationId: string, maxChars = MAX_HISTORY_CHARS, after = this.find(conversationId)?.compactedThrough ?? 0): History {
    return toHistory(this.q.messagesAfter.all({ conversationId, after }).map(parseRow), maxChars);
  }

  /** The turns the model still sees verbatim, oldest first, with their size: what compaction chooses from. */
  turns(conversationId: string): { turnId: string; fromSeq: number; toSeq: number; chars: number }[] {
    const after = this.find(conversationId)?.compactedThrough ?? 0;
    return this.q.turns.all({ conversationId, after });
  }

  /** Records a compaction: the model sees `summary` instead of the messages up to `throughSeq`. */
  compact(conversationId: string, throughSeq: number, summary: string): void {
    this.q.compact.run({ id: conversationId, through: throughSeq, at: Date.now(), summary });
  }
}

/** Longest history a request carries when compaction could not shorten it (no observer model). */
export const MAX_HISTORY_CHARS = 400_000;

export interface History {
  messages: ChatMessage[];
  /** Size of the messages' blocks as JSON, a steady stand-in for their tokens (about four characters each). */
  chars: number;
  /** Messages left out because the history passed its size limit. */
  dropped: number;
}

/** A refused answer is not sent back: the API asks that the turn that drew it be left out. */
const REFUSED = "model_refused";

export function toHistory(rows: Pick<StoredMessage, "role" | "content" | "turnId" | "error">[], maxChars: number): History {
  const refused = new Set(rows.flatMap((r) => (r.error?.code === REFUSED ? [r.turnId] : [])));
  const kept = refused.size ? rows.filter((r) => !refused.has(r.turnId)) : rows;
  const answered = new Set<string>();
  const searched = new Set<string>();
  for (const r of kept) {
    for (const b of r.content) {
      if (b.type === "tool_result") answered.add(b.tool_use_id);
      else if (b.type === "tool_search_tool_result") searched.add(b.tool_use_id);
    }
  }
  const asked = new Set<string>();
  const out: ChatMessage[] = [];
  for (const r of kept) {
    const role = r.role === "assistant" ? "assistant" : "user";
    const content = r.content.filter((b) => {
      switch (b.type) {
        case "tool_use":
          if (!answered.has(b.id)) return false;
          asked.add(b.id);
          return true;
        case "tool_result":
          return asked.has(b.tool_use_id);
        case "server_tool_use":
          return searched.has(b.id);
        case "text":
          return b.text.length > 0;
        default:
          return true;
      }
    });
    if (!content.some((b) => b.type !== "thinking" && b.type !== "redacted_thinking")) continue;
    const last = out[out.length - 1];
    if (last && last.role === role) last.content.push(...content);
    else out.push({ role, content: [...content] });
  }
  // Drop whole exchanges from the front until it fits; the history must open with plain user text.
  const sizes = out.map((m) => JSON.stringify(m.content).length);
  let chars = sizes.reduce((n, c) => n + c, 0);
  let dropped = 0;
  while (out.length > 1 && chars > maxChars) {
    out.shift();
    chars -= sizes[dropped++]!;
  }
  while (out.length && (out[0]!.role !== "user" || out[0]!.content.some((b) => b.type === "tool_result"))) {
    out.shift();
    chars -= sizes[dropped++]!;
  }
  return { messages: out, chars, dropped };
}
