import type { Statement } from "bun:sqlite";
import type { Brain } from "../brain/brain.ts";
import type { Turn } from "../brain/turn.ts";
import { type ConversationStore, titleFrom } from "../conversations/store.ts";
import type { Db } from "../db/client.ts";
import { AppError } from "../errors.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Inbound } from "./adapter.ts";
import { chatKey, LIMITS, parseChatKey } from "./chat-ref.ts";
import { escapeMarkdown } from "./format/render.ts";
import { splitMarkdown } from "./format/split.ts";
import type { Outbox } from "./outbox.ts";
import type { Pairings } from "./pairing.ts";
import { ReplyDoc } from "./reply.ts";
import type { WorkKind } from "./work-reports.ts";

export interface InboxRow {
  id: number;
  updateKey: string;
  chatKey: string;
  pairKey: string;
  kind: "message" | "new" | "command";
  text: string | null;
  messageId: string | null;
  status: "received" | "started" | "answered" | "dropped";
  turnId: string | null;
  conversationId: string | null;
}

const COLUMNS =
  "id, update_key AS updateKey, chat_key AS chatKey, pair_key AS pairKey, kind, text, message_id AS messageId, status, turn_id AS turnId, conversation_id AS conversationId";
/** "typing…" lasts about 5 s on Telegram and 10 s on Discord; it is sent again a little before it fades. */
const TYPING_EVERY_MS = { telegram: 4_000, discord: 8_000 } as const;
const KEEP_MS = 7 * 24 * 3600_000;

export interface ChatRunnerDeps {
  db: Db;
  brain: Brain;
  conversations: ConversationStore;
  outbox: Outbox;
  pairings: Pairings;
  streamIntervalMs: number;
  log: Logger;
  /** A turn ended leaving these jobs and tasks unfinished: report them to the chat when they end (inside the turn's final transaction). */
  watchWork?(chatKey: string, work: Map<string, { kind: WorkKind; status: string }>): void;
}

/**
 * The conversations of the chats: each chat's messages are answered one at a
 * time, in the order they arrived, from the inbox table (so a restart goes on
 * where the last process stopped, and 50 queued messages wait on disk, not in
 * memory). A message becomes a turn of the brain in the same transaction that
 * marks it started; the turn's text is streamed into the chat by editing its
 * message, and the final answer is queued in the outbox in the transaction
 * that marks the message answered.
 */
export class ChatRunner {
  private workers = new Set<string>();
  private stopping = false;
  private pruner: ReturnType<typeof setInterval> | undefined;
  private q: Record<"insert" | "next" | "open" | "started" | "done" | "later" | "chat" | "setChat", Statement>;

  constructor(private deps: ChatRunnerDeps) {
    const c = deps.db.$client;
    this.q = {
      insert: c.query(
        `INSERT INTO gateway_inbox (update_key, chat_key, pair_key, kind, text, message_id, status, received_at)
         VALUES ($updateKey, $chatKey, $pairKey, $kind, $text, $messageId, $status, $now) ON CONFLICT (update_key) DO NOTHING RETURNING id`,
      ),
      next: c.query(`SELECT ${COLUMNS} FROM gateway_inbox WHERE chat_key = ? AND status IN ('received', 'started') ORDER BY id LIMIT 1`),
      open: c.query("SELECT DISTINCT chat_key AS chatKey FROM gateway_inbox WHERE status IN ('received', 'started')"),
      started: c.query("UPDATE gateway_inbox SET status = 'started', turn_id = $turnId, conversation_id = $conversationId, text = NULL WHERE id = $id"),
      done: c.query("UPDATE gateway_inbox SET status = $status, text = NULL, done_at = $now WHERE id = $id"),
      later: c.query("SELECT 1 AS later FROM gateway_inbox WHERE chat_key = ? AND id > ? AND kind = 'message' LIMIT 1"),
      chat: c.query("SELECT conversation_id AS conversationId FROM gateway_chats WHERE chat_key = ?"),
      setChat: c.query(
        "INSERT INTO gateway_chats (chat_key, pair_key, conversation_id, updated_at) VALUES ($chatKey, $pairKey, $conversationId, $now) ON CONFLICT (chat_key) DO UPDATE SET conversation_id = $conversationId, updated_at = $now",
      ),
    };
  }

  /**
   * Records what a paired chat sent, once per update. `command` rows are
   * answered at once by the caller (in the same transaction); the rest wait
   * their turn. Returns false for an update seen before.
   */
  record(m: Inbound, kind: InboxRow["kind"], status: "received" | "answered" = "received"): number | undefined {
    const row = this.q.insert.get({
      updateKey: m.updateKey,
      chatKey: chatKey(m.chat),
      pairKey: m.pairKey,
      kind,
      text: kind === "message" ? m.text : null,
      messageId: m.messageId,
      status,
      now: Date.now(),
    }) as { id: number } | null;
    // After the caller's transaction: the worker reads the row on its own.
    if (row && status === "received") queueMicrotask(() => this.wake(chatKey(m.chat)));
    return row?.id;
  }

  /** At start: every chat with a message not yet answered goes on; old rows are pruned now and every hour. */
  resume(): void {
    this.prune();
    this.pruner = setInterval(() => this.prune(), 3600_000);
    this.pruner.unref?.();
    for (const { chatKey } of this.q.open.all() as { chatKey: string }[]) this.wake(chatKey);
  }

  /**
   * Answered messages are kept a week (Telegram re-sends an unconfirmed
   * update for a day), and each chat's last one always (where reading
   * missed Discord messages starts).
   */
  private prune(): void {
    const before = Date.now() - KEEP_MS;
    const c = this.deps.db.$client;
    c.query("DELETE FROM gateway_inbox WHERE status IN ('answered', 'dropped') AND done_at < ? AND id NOT IN (SELECT max(id) FROM gateway_inbox GROUP BY chat_key)").run(before);
    c.query("DELETE FROM gateway_job_watch WHERE reported_at < ?").run(before);
  }

  /** The conversation a chat is in now (undefined after /new or before its first message). */
  conversationOf(chatKey: string): string | undefined {
    const id = (this.q.chat.get(chatKey) as { conversationId: string | null } | null)?.conversationId ?? undefined;
    return id && this.deps.conversations.find(id) ? id : undefined;
  }

  /** Messages of a chat waiting for their turn. */
  waiting(chatKey: string): number {
    return (this.deps.db.$client.query("SELECT count(*) AS n FROM gateway_inbox WHERE chat_key = ? AND status = 'received'").get(chatKey) as { n: number }).n;
  }

  /** Each Discord chat with the id of the last message it sent that was stored: where reading missed messages starts. */
  discordCursors(): { chatId: string; afterId: string }[] {
    const rows = this.deps.db.$client
      .query(
        "SELECT chat_key AS chatKey, pair_key AS pairKey, message_id AS messageId FROM gateway_inbox WHERE id IN (SELECT max(id) FROM gateway_inbox WHERE chat_key LIKE 'discord:%' AND message_id IS NOT NULL GROUP BY chat_key)",
      )
      .all() as { chatKey: string; pairKey: string; messageId: string }[];
    return rows.filter((r) => this.deps.pairings.isPaired(r.pairKey)).map((r) => ({ chatId: parseChatKey(r.chatKey).chatId, afterId: r.messageId }));
  }

  stop(): void {
    this.stopping = true;
    clearInterval(this.pruner);
  }

  private wake(chatKey: string): void {
    if (this.stopping || this.workers.has(chatKey)) return;
    this.workers.add(chatKey);
    void this.work(chatKey);
  }

  private async work(chatKey: string): Promise<void> {
    for (;;) {
      // Looking for the next row and leaving happen in one step: a message recorded after it wakes a new worker.
      const row = this.stopping ? null : (this.q.next.get(chatKey) as InboxRow | null);
      if (!row) {
        this.workers.delete(chatKey);
        return;
      }
      try {
        await this.handle(row);
      } catch (err) {
        if (err instanceof AppError && (err.code === "shutting_down" || err.code === "shutdown")) {
          this.workers.delete(chatKey);
          return;
        }
        // Never a loop on one bad row: it is answered with what went wrong.
        this.deps.log.error("a chat message could not be handled", { chatKey, inboxId: row.id, error: err as Error });
        this.answerWith(row, "Something went wrong with this message; the log has the details.");
      }
    }
  }

  private async handle(row: InboxRow): Promise<void> {
    const { brain, outbox, pairings } = this.deps;
    if (row.status === "started") return this.recover(row);
    if (!pairings.isPaired(row.pairKey)) {
      this.q.done.run({ id: row.id, status: "dropped", now: Date.now() });
      return;
    }
    if (row.kind === "new") {
      this.deps.db.$client.transaction(() => {
        this.q.setChat.run({ chatKey: row.chatKey, pairKey: row.pairKey, conversationId: null, now: Date.now() });
        outbox.enqueue(row.chatKey, "Started a new conversation. The last one stays in the console.", { key: `inbox:${row.id}` });
        this.q.done.run({ id: row.id, status: "answered", now: Date.now() });
      })();
      return;
    }
    let conversationId = this.conversationOf(row.chatKey);
    const running = conversationId ? brain.activeTurn(conversationId) : undefined;
    if (running) {
      // The console is answering in the same conversation: this message waits for it.
      await running.done;
      return;
    }
    const platform = parseChatKey(row.chatKey).platform;
    let turn: Turn;
    try {
      turn = this.deps.db.$client.transaction(() => {
        if (!conversationId) {
          conversationId = this.deps.conversations.create(titleFrom(row.text ?? ""), row.chatKey).id;
          this.q.setChat.run({ chatKey: row.chatKey, pairKey: row.pairKey, conversationId, now: Date.now() });
        }
        // The user's message is stored by this call, in this transaction, with the row marked started.
        const t = brain.start({ message: row.text ?? "", conversationId, origin: platform, whenBusy: "queue" });
        this.q.started.run({ id: row.id, turnId: t.id, conversationId });
        return t;
      })();
    } catch (err) {
      if (err instanceof AppError && err.code === "shutting_down") throw err;
      const e = err instanceof AppError ? err : new AppError("internal", (err as Error).message);
      if (e.code === "internal") this.deps.log.error("could not start a turn for a chat message", { chatKey: row.chatKey, error: err as Error });
      this.answerWith(row, e.message);
      return;
    }
    await this.follow(turn, row);
  }

  /** Streams a running turn into the chat, then queues its final answer. */
  private async follow(turn: Turn, row: InboxRow): Promise<void> {
    const { outbox, streamIntervalMs } = this.deps;
    const ref = parseChatKey(row.chatKey);
    const key = `turn:${turn.id}`;
    const doc = new ReplyDoc();
    const work = new Map<string, { kind: WorkKind; status: string }>();
    const typing = () =>
      void outbox
        .adapter(ref.platform)
        ?.typing(ref)
        .catch(() => undefined);
    typing();
    const typingTimer = setInterval(typing, TYPING_EVERY_MS[ref.platform]);
    let shown = "";
    // While the model writes, the message shows what it has, edited at the rate the platform allows.
    const streamTimer = setInterval(() => {
      if (!doc.hasText) return;
      const md = doc.markdown();
      if (md === shown) return;
      shown = md;
      try {
        outbox.show(row.chatKey, key, splitMarkdown(md, LIMITS[ref.platform]), this.quote(row, false));
      } catch (err) {
        this.deps.log.warn("could not queue a reply's draft", { chatKey: row.chatKey, error: err as Error });
      }
    }, streamIntervalMs);
    try {
      for await (const ev of turn.follow()) {
        if (ev.event === "text") doc.text(ev.data.delta);
        else if (ev.event === "tool_use") doc.toolUse(ev.data.id, ev.data.name);
        else if (ev.event === "tool_result") doc.toolResult(ev.data.id, ev.data.ok);
        else if (ev.event === "job" || ev.event === "task") work.set(ev.data.id, { kind: ev.event, status: ev.data.status });
        else if (ev.event === "notice" || ev.event === "error") doc.note(ev.data.message);
      }
    } finally {
      clearInterval(typingTimer);
      clearInterval(streamTimer);
    }
    const result = await turn.done;
    const md = doc.markdown() || "(no answer)";
    if (!this.deps.pairings.isPaired(row.pairKey)) {
      // Revoked while it answered: the answer stays in the conversation, not in the chat.
      this.q.done.run({ id: row.id, status: "dropped", now: Date.now() });
      return;
    }
    this.deps.db.$client.transaction(() => {
      outbox.show(row.chatKey, key, splitMarkdown(md, LIMITS[ref.platform]), this.quote(row, result.error !== null));
      this.q.done.run({ id: row.id, status: "answered", now: Date.now() });
      this.deps.watchWork?.(row.chatKey, work);
    })();
  }

  /**
   * A message whose turn started before a restart: the turn is not run again.
   * Its answer is what the conversation stored (a turn cut off by the crash
   * says so), quoting the message it answers.
   */
  private recover(row: InboxRow): void {
    const { outbox, conversations } = this.deps;
    const messages = row.conversationId && conversations.find(row.conversationId) ? conversations.messages(row.conversationId).filter((m) => m.turnId === row.turnId) : [];
    const md = ReplyDoc.fromStored(messages).markdown() || "⚠️ bakerst stopped before answering this; send it again.";
    const ref = parseChatKey(row.chatKey);
    this.deps.db.$client.transaction(() => {
      outbox.show(row.chatKey, `turn:${row.turnId}`, splitMarkdown(md, LIMITS[ref.platform]), row.messageId ?? undefined);
      this.q.done.run({ id: row.id, status: "answered", now: Date.now() });
    })();
  }

  private answerWith(row: InboxRow, message: string): void {
    this.deps.db.$client.transaction(() => {
      this.deps.outbox.enqueue(row.chatKey, `⚠️ ${escapeMarkdown(message)}`, { key: `inbox:${row.id}`, ...(row.messageId ? { replyTo: row.messageId } : {}) });
      this.q.done.run({ id: row.id, status: "answered", now: Date.now() });
    })();
  }

  /** An answer quotes its question in groups, when later messages are waiting, and when it failed. */
  private quote(row: InboxRow, failed: boolean): string | undefined {
    if (!row.messageId) return undefined;
    const kind = this.deps.pairings.find(row.pairKey)?.kind;
    return failed || kind !== "private" || this.q.later.get(row.chatKey, row.id) ? row.messageId : undefined;
  }
}
