import { emptyLoopUsage, type LoopStop, runLoop } from "../agent/loop.ts";
import { type ModelRouter, NoModelError } from "../agent/router.ts";
import type { Block, TextBlock } from "../agent/types.ts";
import type { AuditLog } from "../audit/service.ts";
import { type ConversationStore, type History, titleFrom } from "../conversations/store.ts";
import { AppError } from "../errors.ts";
import type { UsageLedger } from "../models/usage.ts";
import type { Notifications } from "../notifications/service.ts";
import type { Logger } from "../telemetry/log.ts";
import { currentSpan, type Span, withSpan } from "../telemetry/tracing.ts";
import { newId } from "../util/ids.ts";
import { type Compactor, isCompactCommand } from "./compact.ts";
import { billing, type TurnOrigin } from "./origin.ts";
import type { SystemPrompt } from "./prompt.ts";
import type { BrainTools } from "./tools.ts";
import { Turn, type TurnResult, type TurnUsage } from "./turn.ts";

export const MAX_MESSAGE_CHARS = 100_000;
/** How often the text of an answer that is still streaming is saved, so a crash loses at most this much. */
const PARTIAL_SAVE_MS = 250;
/** Messages a chat platform may queue behind a running turn in one conversation. */
const MAX_QUEUED = 20;

export interface BrainDeps {
  store: ConversationStore;
  router: ModelRouter;
  ledger: UsageLedger;
  tools: BrainTools;
  prompt: SystemPrompt;
  compactor: Compactor;
  notifications: Notifications;
  audit: AuditLog;
  log: Logger;
  maxTokens?: number;
  maxToolRounds?: number;
}

export interface StartTurn {
  message: string;
  conversationId?: string;
  /** Where the message came from; decides what the turn bills to. Default `web`. */
  origin?: TurnOrigin;
  /**
   * When the conversation is already answering: `refuse` (409, what the web
   * console wants) or `queue` (a chat platform's messages run in order).
   */
  whenBusy?: "refuse" | "queue";
}

/** How long a finished turn stays around for a client that resumes its stream. */
const KEEP_FINISHED_MS = 60_000;
/** ...and at most this many, so a burst of chats cannot pile up their event logs. */
const KEEP_FINISHED_MAX = 500;

/**
 * Turns of conversations. One turn at a time per conversation (later messages
 * are refused or queued in order); each turn runs to its end whoever is
 * listening, and every message of it (the owner's text, the model's replies
 * with their tool calls, the tool results) is stored as it happens. The loop
 * itself is the shared one in `core/agent/loop.ts`.
 */
export class Brain {
  private active = new Map<string, Turn>();
  private queued = new Map<string, { turn: Turn; input: StartTurn; parent: Span | undefined }[]>();
  private byTurn = new Map<string, Turn>();
  private finished: { id: string; at: number }[] = [];
  private draining = false;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private turnListeners: ((r: TurnResult) => void)[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(private deps: BrainDeps) {}

  /**
   * Starts a turn (or queues it behind the running one). Throws 404 for an
   * unknown conversation, 409 when busy and not queueing, 503 with no model,
   * 402 for a background origin past the daily budget.
   */
  start(input: StartTurn): Turn {
    if (this.draining) throw new AppError("shutting_down", "bakerst is shutting down; try again in a moment", { "retry-after": "5" });
    if (!this.deps.router.hasModel("agent")) throw new NoModelError("agent");
    const origin = input.origin ?? "web";
    if (billing(origin).bills === "background") this.refusePastBudget(origin);
    const running = input.conversationId ? this.active.get(input.conversationId) : undefined;
    if (running) {
      if (input.whenBusy !== "queue") {
        throw new AppError("conversation_busy", `conversation ${input.conversationId} is already answering a message; wait for it to finish`);
      }
      const waiting = this.queued.get(running.conversationId) ?? [];
      if (waiting.length >= MAX_QUEUED) {
        throw new AppError("conversation_busy", `conversation ${input.conversationId} already has ${MAX_QUEUED} messages waiting; wait for them to be answered`);
      }
      this.deps.store.get(running.conversationId);
      const turn = new Turn(newId(), origin, running.conversationId);
      waiting.push({ turn, input, parent: currentSpan() });
      this.queued.set(running.conversationId, waiting);
      this.byTurn.set(turn.id, turn);
      return turn;
    }
    return this.begin(new Turn(newId(), origin), input);
  }

  /** Background work past the budget is refused, and the owner is told once a day. */
  private refusePastBudget(origin: TurnOrigin): void {
    try {
      this.deps.ledger.assertWithinBudget();
    } catch (err) {
      const b = this.deps.ledger.status();
      this.deps.audit.record({ action: "turn.refused", outcome: "refused", actor: "system", detail: { origin, code: "budget_exceeded" } });
      this.deps.notifications.notify({
        code: "budget_exceeded",
        message: `Today's budget of $${b.dailyUsd} is spent; background work (${origin} and others) is paused until tomorrow (UTC) or until DAILY_BUDGET_USD is raised.`,
        once: `budget_exceeded:${b.day}`,
      });
      throw err;
    }
  }

  /** `parent`: the span of the request that queued the turn (default: the caller's). */
  private begin(turn: Turn, input: StartTurn, parent?: Span): Turn {
    if (isCompactCommand(input.message)) return this.beginCompaction(turn, input);
    const { conversationId, history, answerId } = this.deps.store.openTurn({
      conversationId: input.conversationId,
      title: titleFrom(input.message),
      channel: turn.origin,
      turnId: turn.id,
      message: input.message,
    });
    turn.bind(conversationId);
    this.active.set(conversationId, turn);
    this.byTurn.set(turn.id, turn);
    const attributes = { "bakerst.turn.id": turn.id, "bakerst.turn.origin": turn.origin, "bakerst.conversation.id": conversationId };
    void withSpan("turn", { attributes, ...(parent ? { parent } : {}) }, () => this.run(turn, input.message, history, answerId)).finally(() => this.release(turn));
    return turn;
  }

  /** `/compact`: a turn that compacts the conversation instead of asking the model; the command itself is not stored. */
  private beginCompaction(turn: Turn, input: StartTurn): Turn {
    if (!input.conversationId) throw new AppError("invalid_request", "/compact works in a conversation: send it in the one to compact");
    this.deps.store.get(input.conversationId);
    turn.bind(input.conversationId);
    this.active.set(input.conversationId, turn);
    this.byTurn.set(turn.id, turn);
    void this.runCompaction(turn).finally(() => this.release(turn));
    return turn;
  }

  private async runCompaction(turn: Turn): Promise<void> {
    turn.push({ event: "conversation", data: { id: turn.conversationId, turnId: turn.id } });
    const result: TurnResult = { ...emptyResult(turn), text: "" };
    try {
      const c = await this.deps.compactor.compact(turn.conversationId, { signal: turn.abort.signal });
      result.text = c.message;
      const notice = { code: c.compacted ? "compacted" : "not_compacted", message: c.message };
      result.notices.push(notice);
      turn.push({ event: "notice", data: notice });
    } catch (raw) {
      const err = raw instanceof AppError ? raw : new AppError("internal", (raw as Error).message);
      result.error = { code: err.code, message: err.message, status: err.status };
      turn.push({ event: "error", data: { code: err.code, message: err.message } });
    }
    this.end(turn, result);
  }

  /** The conversation is free again (before anyone awaiting the turn hears it ended); the next queued message starts. */
  private release(turn: Turn): void {
    if (this.active.get(turn.conversationId) !== turn) return;
    this.active.delete(turn.conversationId);
    this.retire(turn.id);
    this.next(turn.conversationId);
    if (!this.running) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Turns running or waiting in a queue. */
  get running(): number {
    let n = this.active.size;
    for (const q of this.queued.values()) n += q.length;
    return n;
  }

  /** Resolves once no turn runs or waits (an upgrade hands over then). */
  whenIdle(): Promise<void> {
    return this.running ? new Promise((resolve) => this.idleWaiters.push(resolve)) : Promise.resolve();
  }

  /** Starts the next queued message of a conversation, if any. */
  private next(conversationId: string): void {
    const waiting = this.queued.get(conversationId);
    const head = waiting?.shift();
    if (!waiting?.length) this.queued.delete(conversationId);
    if (!head) return;
    try {
      if (this.draining) throw new AppError("shutting_down", "bakerst is shutting down; the queued message was not answered");
      this.begin(head.turn, { ...head.input, conversationId }, head.parent);
    } catch (err) {
      // The conversation was deleted meanwhile, or the server is stopping: the queued turn ends with that error.
      const e = err instanceof AppError ? err : new AppError("internal", (err as Error).message);
      head.turn.fail(e);
      this.retire(head.turn.id);
      this.next(conversationId);
    }
  }

  /** Called after every turn is stored (observer, gateway outbox...). Listeners must not throw or block. */
  onTurnDone(fn: (r: TurnResult) => void): void {
    this.turnListeners.push(fn);
  }

  /** Keeps a finished turn for late listeners for a while, dropping the oldest past the cap. */
  private retire(turnId: string): void {
    const now = Date.now();
    this.finished.push({ id: turnId, at: now });
    while (this.finished.length && (this.finished.length > KEEP_FINISHED_MAX || now - this.finished[0]!.at > KEEP_FINISHED_MS)) {
      this.byTurn.delete(this.finished.shift()!.id);
    }
    if (!this.sweeper) {
      // A quiet server still lets go of its last turns.
      this.sweeper = setInterval(() => {
        const t = Date.now();
        while (this.finished.length && t - this.finished[0]!.at > KEEP_FINISHED_MS) this.byTurn.delete(this.finished.shift()!.id);
        if (!this.finished.length) {
          clearInterval(this.sweeper);
          this.sweeper = undefined;
        }
      }, KEEP_FINISHED_MS);
      this.sweeper.unref?.();
    }
  }

  turn(turnId: string): Turn | undefined {
    return this.byTurn.get(turnId);
  }

  activeTurn(conversationId: string): Turn | undefined {
    return this.active.get(conversationId);
  }

  /** Ends a running turn and drops the messages queued behind it; what it produced so far is kept. */
  stop(conversationId: string): boolean {
    const t = this.active.get(conversationId);
    for (const q of this.queued.get(conversationId)?.splice(0) ?? []) {
      q.turn.fail(new AppError("stopped", "the owner stopped the conversation before this message was answered"));
      this.retire(q.turn.id);
    }
    if (!t) return false;
    t.abort.abort(new AppError("stopped", "the turn was stopped by the owner"));
    return true;
  }

  /** Waits for running turns, for a graceful shutdown. */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const running = () => Promise.all([...this.active.values()].map((t) => t.done));
    await Promise.race([running(), Bun.sleep(timeoutMs)]);
    // Past the grace time, stop what is left; each stopped turn still stores what it had.
    for (const t of this.active.values()) t.abort.abort(new AppError("shutdown", "bakerst is shutting down"));
    await Promise.race([running(), Bun.sleep(2_000)]);
  }

  private async run(turn: Turn, message: string, history: History, firstAnswerId: string): Promise<void> {
    const { store, router, tools, prompt, log } = this.deps;
    const signal = turn.abort.signal;
    const loopUsage = emptyLoopUsage();
    const result = emptyResult(turn);
    const notice = (n: { code: string; message: string }) => {
      result.notices.push(n);
      turn.push({ event: "notice", data: n });
    };
    turn.push({ event: "conversation", data: { id: turn.conversationId, turnId: turn.id } });

    /** The text of the round that is streaming now, kept if the turn fails mid-answer. */
    let roundText = "";
    let textSoFar = "";
    /** The round's assistant message, partial in the database until the round ends; saved as the text streams. */
    let answerId: string | undefined = firstAnswerId;
    let saveTimer: ReturnType<typeof setTimeout> | undefined;
    const save = () => {
      saveTimer = undefined;
      if (answerId && roundText) store.writePartial(answerId, [{ type: "text", text: roundText }]);
    };
    let model: string | undefined;
    const { bills } = billing(turn.origin);
    const maxTokens = this.deps.maxTokens ?? 8192;
    try {
      const budget = this.deps.ledger.status();
      if (budget.exceeded) {
        notice({
          code: "budget_exceeded",
          message: `Today's budget of $${budget.dailyUsd} is spent ($${budget.spentUsd}); background work is paused until tomorrow (UTC) or until DAILY_BUDGET_USD is raised.`,
        });
      }
      const context = { conversationId: turn.conversationId, userMessage: message, origin: turn.origin, signal };
      // Built once: every round of the turn sends the same system prompt, so each reads the cache of the one before.
      let system = await prompt.build(context);
      const c = await this.deps.compactor.beforeTurn(turn.conversationId, { turnId: turn.id, chars: history.chars + system.reduce((n, b) => n + b.text.length, 0), signal });
      if (c) notice({ code: c.compacted ? "compacted" : "not_compacted", message: c.message });
      if (c?.compacted) {
        history = store.history(turn.conversationId);
        system = await prompt.build(context);
      }
      if (history.dropped) {
        notice({
          code: "history_truncated",
          message: `${history.dropped} of the oldest messages were left out of what the model sees: the conversation is too long and could not be compacted. They are still stored.`,
        });
      }
      const r = await runLoop({
        router,
        call: { role: "agent", signal, conversationId: turn.conversationId, turnId: turn.id, origin: turn.origin, background: bills === "background" },
        system: () => system,
        messages: history.messages,
        tools,
        context: { conversationId: turn.conversationId, turnId: turn.id, origin: turn.origin, emit: (e) => turn.push({ event: e.type, data: { id: e.id, status: e.status } }) },
        ...(this.deps.maxToolRounds !== undefined ? { maxRounds: this.deps.maxToolRounds } : {}),
        maxTokens,
        usage: loopUsage,
        toolCalls: result.toolCalls,
        hooks: {
          model: (ref) => (model = ref),
          text: (delta) => {
            roundText += delta;
            textSoFar += delta;
            turn.push({ event: "text", data: { delta } });
            saveTimer ??= setTimeout(save, PARTIAL_SAVE_MS);
          },
          thinking: (delta) => turn.push({ event: "thinking", data: { delta } }),
          assistant: (content, round) => {
            clearTimeout(saveTimer);
            saveTimer = undefined;
            const id = answerId ?? store.append({ conversationId: turn.conversationId, turnId: turn.id, role: "assistant", content: [], partial: true }).id;
            store.finish(id, { content, ...(round.model ? { model: round.model } : {}) });
            result.messageId = id;
            answerId = undefined;
            roundText = "";
          },
          toolUse: (u) => turn.push({ event: "tool_use", data: { id: u.id, name: u.name, input: u.input } }),
          toolResult: (u, o) => turn.push({ event: "tool_result", data: { id: u.id, ok: o.ok, summary: o.summary } }),
          toolResults: (results) => {
            store.append({ conversationId: turn.conversationId, turnId: turn.id, role: "tool", content: results });
            answerId = store.append({ conversationId: turn.conversationId, turnId: turn.id, role: "assistant", content: [], partial: true }).id;
          },
        },
      });
      result.text = r.text;
      if (r.stop === "refusal") throw new AppError("model_refused", REFUSED);
      if (r.stop === "context_window") this.deps.compactor.filled(turn.conversationId);
      const ended = ENDINGS[r.stop];
      if (ended) notice({ code: ended.code, message: ended.message(maxTokens) });
    } catch (raw) {
      const err =
        raw instanceof AppError ? raw : signal.aborted && signal.reason instanceof AppError ? signal.reason : new AppError("internal", (raw as Error)?.message ?? String(raw));
      if (err.code === "internal") log.error("turn failed", { turnId: turn.id, error: raw as Error });
      currentSpan()?.fail(err);
      // Keep whatever the model had said before the failure, marked with the error.
      clearTimeout(saveTimer);
      const partial: Block[] = roundText ? [{ type: "text", text: roundText } satisfies TextBlock] : [];
      const error = { code: err.code, message: err.message };
      try {
        if (answerId) store.finish(answerId, { content: partial, ...(model ? { model } : {}), error });
        else answerId = store.append({ conversationId: turn.conversationId, turnId: turn.id, role: "assistant", content: partial, model, error }).id;
        result.messageId = answerId;
      } catch (storeErr) {
        log.error("could not store the failed turn", { turnId: turn.id, error: storeErr as Error });
      }
      result.text = textSoFar;
      result.error = { code: err.code, message: err.message, status: err.status };
      turn.push({ event: "error", data: { code: err.code, message: err.message } });
    }
    result.usage = turnUsage(loopUsage);
    this.end(turn, result);
  }

  /** Ends a turn: `done`, the conversation freed, listeners told. */
  private end(turn: Turn, result: TurnResult): void {
    turn.push({ event: "done", data: { conversationId: turn.conversationId, messageId: result.messageId, usage: result.usage } });
    this.release(turn);
    turn.finish(result);
    for (const fn of this.turnListeners) {
      try {
        fn(result);
      } catch (err) {
        this.deps.log.error("turn listener failed", { error: err as Error });
      }
    }
  }
}

const REFUSED = "The model's safety filter stopped this answer. What it said stays here, but this turn is left out of what the model sees next; rephrase to go on.";

/** What the owner is told when an answer ended short of a normal finish. */
const ENDINGS: Partial<Record<LoopStop, { code: string; message: (maxTokens: number) => string }>> = {
  max_tokens: { code: "answer_cut", message: (n) => `The answer reached the output limit (${n} tokens) and was cut off here. Ask it to go on.` },
  context_window: {
    code: "context_window",
    message: () => "The conversation filled the model's context window and the answer was cut off. Older turns are compacted before the next message.",
  },
  paused: { code: "paused", message: () => "The model kept pausing a long step and this answer stopped there. Ask it to go on." },
};

function emptyResult(turn: Turn): TurnResult {
  return {
    conversationId: turn.conversationId,
    turnId: turn.id,
    origin: turn.origin,
    messageId: null,
    text: "",
    toolCalls: [],
    usage: turnUsage(emptyLoopUsage()),
    notices: [],
    error: null,
  };
}

function turnUsage(u: ReturnType<typeof emptyLoopUsage>): TurnUsage {
  return { ...u, costUsd: Math.round(u.costUsd * 1e6) / 1e6 };
}
