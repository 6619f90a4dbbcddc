import { and, asc, eq, gt, lte } from "drizzle-orm";
import type { ModelRouter } from "../agent/router.ts";
import type { Summarizer } from "../brain/compact.ts";
import type { TurnResult } from "../brain/turn.ts";
import { messages } from "../conversations/conversation.sql.ts";
import type { ConversationStore, StoredMessage } from "../conversations/store.ts";
import type { Db } from "../db/client.ts";
import { AppError } from "../errors.ts";
import type { Logger } from "../telemetry/log.ts";
import { newId } from "../util/ids.ts";
import { observations, observerCursors } from "./memory.sql.ts";
import { parseJsonList } from "./parse.ts";
import type { Reflector } from "./reflector.ts";

export const OBSERVATION_KINDS = ["Decision", "Preference", "Fact", "Issue", "NextStep", "Outcome"] as const;
export type ObservationKind = (typeof OBSERVATION_KINDS)[number];

const MAX_TRANSCRIPT_CHARS = 60_000;
const MAX_OBSERVATION_CHARS = 1_000;

export const OBSERVER_PROMPT = `You read a conversation between an owner and their personal AI agent and extract observations worth remembering across conversations.

Answer with a JSON array and nothing else. Each item: {"kind": K, "text": T}
- K is one of: Decision, Preference, Fact, Issue, NextStep, Outcome.
- T is one short, self-contained sentence about the owner or their world (name things; no "he said" or "the user mentioned").
Skip small talk and anything only true for this moment. An empty array is a fine answer.`;

function transcript(rows: StoredMessage[]): string {
  const lines: string[] = [];
  for (const m of rows) {
    for (const b of m.content) {
      if (b.type === "text" && b.text.trim()) lines.push(`${m.role === "user" ? "Owner" : "Agent"}: ${b.text.trim()}`);
      else if (b.type === "tool_use") lines.push(`Agent used ${b.name}`);
    }
  }
  const text = lines.join("\n");
  return text.length > MAX_TRANSCRIPT_CHARS ? text.slice(text.length - MAX_TRANSCRIPT_CHARS) : text;
}

/** Rows from the start whose transcript fits one observer call (at least one). */
function firstPiece(rows: StoredMessage[]): StoredMessage[] {
  let n = 0;
  let size = 0;
  while (n < rows.length && (n === 0 || size + transcript([rows[n]!]).length + 1 <= MAX_TRANSCRIPT_CHARS)) size += transcript([rows[n++]!]).length + 1;
  return rows.slice(0, n);
}

/**
 * After a turn, if a conversation has enough text the observer has not read yet,
 * the observer model extracts observations from it. Runs in the background, one
 * conversation at a time; with no model or past the budget it skips and keeps
 * its place so nothing is lost. It is also the summarizer of compaction: the
 * observations of a conversation's older turns stand in for them.
 */
export class Observer implements Summarizer {
  /** One observer call at a time, background or compaction, so a range is never read twice. */
  private lock: Promise<unknown> = Promise.resolve();
  private waiting = new Set<string>();
  private running: Promise<void> | null = null;
  private closed = false;
  /** Shutdown cancels a model call in flight rather than waiting out its timeout. */
  private abort = new AbortController();
  lastRun: { at: number; conversationId: string; stored: number; skipped?: string } | null = null;

  /** Size of what the observer has not read yet, a cheap upper bound on its transcript's length. */
  private unreadChars;

  constructor(private deps: { db: Db; conversations: ConversationStore; router: ModelRouter; log: Logger; thresholdChars: number; reflector: Reflector }) {
    this.unreadChars = deps.db.$client.query<{ chars: number }, { cid: string }>(
      "select coalesce(sum(length(content)), 0) as chars from messages where conversation_id = $cid and seq > coalesce((select seq from observer_cursors where conversation_id = $cid), 0)",
    );
  }

  onTurn(r: TurnResult): void {
    if (this.closed) return;
    this.waiting.add(r.conversationId);
    this.running ??= this.loop().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when no observation or reflection is in flight. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
    await this.deps.reflector.idle();
  }

  private async loop(): Promise<void> {
    while (this.waiting.size && !this.closed) {
      const id = this.waiting.values().next().value as string;
      this.waiting.delete(id);
      await this.observe(id).catch((err) => this.deps.log.warn("observer failed", { conversationId: id, error: (err as Error).message }));
    }
  }

  private unread(conversationId: string): StoredMessage[] {
    const { db } = this.deps;
    const cursor = db.select().from(observerCursors).where(eq(observerCursors.conversationId, conversationId)).get()?.seq ?? 0;
    return db
      .select()
      .from(messages)
      .where(and(eq(messages.conversationId, conversationId), gt(messages.seq, cursor)))
      .orderBy(asc(messages.seq))
      .all() as StoredMessage[];
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  observe(conversationId: string): Promise<number> {
    return this.exclusive(async () => {
      const { router, log, thresholdChars } = this.deps;
      if (!router.hasModel("observer")) return 0;
      // Runs after every turn: most turns fall short of the threshold, and this tells without loading them.
      if ((this.unreadChars.get({ cid: conversationId })?.chars ?? 0) < thresholdChars) return 0;
      const rows = this.unread(conversationId);
      if (!rows.length || transcript(rows).length < thresholdChars) return 0;
      try {
        return await this.extract(conversationId, rows, { background: true, signal: this.abort.signal });
      } catch (err) {
        if (this.closed) return 0;
        const why = err instanceof AppError ? err.code : "error";
        this.lastRun = { at: Date.now(), conversationId, stored: 0, skipped: why };
        log.info("observer skipped", { conversationId, reason: (err as Error).message });
        return 0;
      }
    });
  }

  /**
   * For compaction: reads what it has not read of the conversation up to
   * `throughSeq` (however little), then answers the observations of the
   * turns after `afterSeq` up to there. The owner is waiting on a chat turn,
   * so it is not refused past the budget. Throws when it cannot.
   */
  async summarize(conversationId: string, range: { afterSeq: number; throughSeq: number }, signal: AbortSignal): Promise<string[]> {
    if (!this.deps.router.hasModel("observer")) throw new AppError("no_model", "no model is configured for the observer role");
    await this.exclusive(async () => {
      for (;;) {
        const rows = this.unread(conversationId).filter((r) => r.seq <= range.throughSeq);
        if (!rows.length) return;
        await this.extract(conversationId, firstPiece(rows), { background: false, signal: AbortSignal.any([signal, this.abort.signal]) });
      }
    });
    return this.deps.db
      .select({ kind: observations.kind, text: observations.text })
      .from(observations)
      .where(and(eq(observations.conversationId, conversationId), gt(observations.fromSeq, range.afterSeq), lte(observations.fromSeq, range.throughSeq)))
      .orderBy(asc(observations.fromSeq), asc(observations.createdAt))
      .all()
      .map((o) => `- (${o.kind}) ${o.text}`);
  }

  /** One observer call over these rows; stores what it found and moves the cursor past them. Throws when the call fails. */
  private async extract(conversationId: string, rows: StoredMessage[], opts: { background: boolean; signal: AbortSignal }): Promise<number> {
    const { db, router, log } = this.deps;
    const res = await router.complete(
      { system: OBSERVER_PROMPT, messages: [{ role: "user", content: [{ type: "text", text: transcript(rows) }] }], maxTokens: 2048 },
      { role: "observer", background: opts.background, conversationId, signal: opts.signal },
    );
    const reply = res.text;
    const items = parseJsonList(reply).flatMap((item) => {
      const o = item as { kind?: unknown; text?: unknown };
      const kind = OBSERVATION_KINDS.find((k) => k.toLowerCase() === String(o?.kind ?? "").toLowerCase());
      const t = typeof o?.text === "string" ? o.text.trim().slice(0, MAX_OBSERVATION_CHARS) : "";
      return kind && t ? [{ kind, text: t }] : [];
    });
    const fromSeq = rows[0]!.seq;
    const toSeq = rows.at(-1)!.seq;
    const now = Date.now();
    db.transaction((tx) => {
      for (const o of items) tx.insert(observations).values({ id: newId(), conversationId, kind: o.kind, text: o.text, fromSeq, toSeq, createdAt: now }).run();
      tx.insert(observerCursors)
        .values({ conversationId, seq: toSeq, updatedAt: now })
        .onConflictDoUpdate({ target: observerCursors.conversationId, set: { seq: toSeq, updatedAt: now } })
        .run();
    });
    this.lastRun = { at: now, conversationId, stored: items.length };
    log.info("observations stored", { conversationId, count: items.length });
    this.deps.reflector.poke();
    return items.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort(new Error("bakerst is shutting down"));
    await this.running;
  }
}
