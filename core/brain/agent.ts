import { type ConversationStore, titleFrom } from "../conversations/store.ts";
import { AppError, conflict } from "../errors.ts";
import { NoModelError, type ModelRouter } from "../models/router.ts";
import type { Block, ChatMessage, TextBlock, ToolResultBlock, ToolUseBlock } from "../models/types.ts";
import type { UsageLedger } from "../models/usage.ts";
import type { Logger } from "../telemetry/log.ts";
import { newId } from "../util/ids.ts";
import type { SystemPrompt } from "./prompt.ts";
import type { ToolRegistry } from "./tools.ts";
import { Turn, type TurnResult, type TurnUsage } from "./turn.ts";

export const MAX_TOOL_ROUNDS = 10;
export const MAX_MESSAGE_CHARS = 100_000;

export interface BrainDeps {
  store: ConversationStore;
  router: ModelRouter;
  ledger: UsageLedger;
  tools: ToolRegistry;
  prompt: SystemPrompt;
  log: Logger;
  maxTokens?: number;
  maxToolRounds?: number;
}

export interface StartTurn {
  message: string;
  conversationId?: string;
  channel?: string;
}

/** How long a finished turn stays around for a client that resumes its stream. */
const KEEP_FINISHED_MS = 60_000;
/** ...and at most this many, so a burst of chats cannot pile up their event logs. */
const KEEP_FINISHED_MAX = 500;

/**
 * The agent loop. One turn at a time per conversation; each turn runs to its
 * end whoever is listening, and every message of it (the owner's text, the
 * model's replies with their tool calls, the tool results) is stored as it happens.
 */
export class Brain {
  private active = new Map<string, Turn>();
  private byTurn = new Map<string, Turn>();
  private finished: { id: string; at: number }[] = [];
  private draining = false;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private turnListeners: ((r: TurnResult) => void)[] = [];

  constructor(private deps: BrainDeps) {}

  /** Starts a turn; throws 404 for an unknown conversation, 409 when one is already running there, 503 with no model. */
  start(input: StartTurn): Turn {
    if (this.draining) throw new AppError("shutting_down", "bakerst is shutting down; try again in a moment", 503, { "retry-after": "5" });
    if (!this.deps.router.hasModel("agent")) throw new NoModelError("agent");
    if (input.conversationId && this.active.has(input.conversationId)) {
      throw conflict("conversation_busy", `conversation ${input.conversationId} is already answering a message; wait for it to finish`);
    }
    const turnId = newId();
    const { conversationId, history } = this.deps.store.openTurn({
      conversationId: input.conversationId,
      title: titleFrom(input.message),
      channel: input.channel ?? "web",
      turnId,
      message: input.message,
    });
    const turn = new Turn(turnId, conversationId);
    this.active.set(conversationId, turn);
    this.byTurn.set(turn.id, turn);
    void this.run(turn, input.message, history).finally(() => {
      this.active.delete(conversationId);
      this.retire(turn.id);
    });
    return turn;
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

  /** Ends a running turn; what it produced so far is kept. */
  stop(conversationId: string): boolean {
    const t = this.active.get(conversationId);
    if (!t) return false;
    t.abort.abort(new AppError("stopped", "the turn was stopped by the owner", 499));
    return true;
  }

  /** Waits for running turns, for a graceful shutdown. */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const running = () => Promise.all([...this.active.values()].map((t) => t.done));
    await Promise.race([running(), Bun.sleep(timeoutMs)]);
    // Past the grace time, stop what is left; each stopped turn still stores what it had.
    for (const t of this.active.values()) t.abort.abort(new AppError("shutdown", "bakerst is shutting down", 503));
    await Promise.race([running(), Bun.sleep(2_000)]);
  }

  private async run(turn: Turn, message: string, history: ChatMessage[]): Promise<void> {
    const { store, router, tools, prompt, log } = this.deps;
    const maxRounds = this.deps.maxToolRounds ?? MAX_TOOL_ROUNDS;
    const signal = turn.abort.signal;
    const usage: TurnUsage = { inputTokens: 0, outputTokens: 0, costUsd: 0, modelCalls: 0, model: null };
    const result: TurnResult = {
      conversationId: turn.conversationId,
      turnId: turn.id,
      messageId: null,
      text: "",
      toolCalls: [],
      usage,
      notices: [],
      error: null,
    };
    turn.push({ event: "conversation", data: { id: turn.conversationId, turnId: turn.id } });

    let text = "";
    let uses: ToolUseBlock[] = [];
    let model: string | undefined;
    try {
      const budget = this.deps.ledger.status();
      if (budget.exceeded) {
        const notice = {
          code: "budget_exceeded",
          message: `Today's budget of $${budget.dailyUsd} is spent ($${budget.spentUsd}); background work is paused until tomorrow (UTC) or until DAILY_BUDGET_USD is raised.`,
        };
        result.notices.push(notice);
        turn.push({ event: "notice", data: notice });
      }

      for (let round = 0; ; round++) {
        const last = round >= maxRounds;
        const system = await prompt.build({ conversationId: turn.conversationId, userMessage: message, signal });
        const specs = tools.specs();
        text = "";
        uses = [];
        model = undefined;
        for await (const ev of router.stream(
          {
            system: last ? `${system}\n\nYou have used every tool round of this turn. Answer now with what you have, without calling tools.` : system,
            messages: history,
            ...(specs.length ? { tools: specs, toolChoice: last ? ("none" as const) : ("auto" as const) } : {}),
            maxTokens: this.deps.maxTokens ?? 8192,
          },
          { role: "agent", signal, conversationId: turn.conversationId },
        )) {
          if (ev.type === "model") model = ev.ref;
          else if (ev.type === "text") {
            text += ev.delta;
            turn.push({ event: "text", data: { delta: ev.delta } });
          } else if (ev.type === "tool_use") {
            if (!last) uses.push({ type: "tool_use", id: ev.id, name: ev.name, input: ev.input });
          } else if (ev.type === "done") {
            usage.inputTokens += ev.usage.inputTokens;
            usage.outputTokens += ev.usage.outputTokens;
            usage.costUsd += ev.costUsd ?? 0;
            usage.modelCalls++;
            usage.model = model ?? null;
          }
        }
        const content: Block[] = [...(text ? [{ type: "text", text } satisfies TextBlock] : []), ...uses];
        const stored = store.append({ conversationId: turn.conversationId, turnId: turn.id, role: "assistant", content, model });
        result.messageId = stored.id;
        result.text += text;
        text = "";
        if (!uses.length) break;
        history.push({ role: "assistant", content });

        for (const use of uses) turn.push({ event: "tool_use", data: { id: use.id, name: use.name, input: use.input } });
        const ctx = { conversationId: turn.conversationId, turnId: turn.id, signal, emit: (e: { id: string; status: string }) => turn.push({ event: "job", data: e }) };
        const outcomes = await Promise.all(uses.map((u) => tools.execute(u.name, u.input, ctx)));
        const results: ToolResultBlock[] = uses.map((u, i) => {
          const o = outcomes[i]!;
          turn.push({ event: "tool_result", data: { id: u.id, ok: o.ok, summary: o.summary } });
          result.toolCalls.push({ id: u.id, name: u.name, input: u.input, ok: o.ok, summary: o.summary });
          return { type: "tool_result", tool_use_id: u.id, content: o.content, ...(o.ok ? {} : { is_error: true }) };
        });
        store.append({ conversationId: turn.conversationId, turnId: turn.id, role: "tool", content: results });
        history.push({ role: "user", content: results });
        if (signal.aborted) throw signal.reason;
      }
    } catch (raw) {
      const err =
        raw instanceof AppError ? raw : signal.aborted && signal.reason instanceof AppError ? signal.reason : new AppError("internal", (raw as Error)?.message ?? String(raw), 500);
      if (err.code === "internal") log.error("turn failed", { turnId: turn.id, error: raw as Error });
      // Keep whatever the model had said before the failure, marked with the error.
      const partial: Block[] = [...(text ? [{ type: "text", text } satisfies TextBlock] : [])];
      try {
        const stored = store.append({
          conversationId: turn.conversationId,
          turnId: turn.id,
          role: "assistant",
          content: partial,
          model,
          error: { code: err.code, message: err.message },
        });
        result.messageId = stored.id;
      } catch (storeErr) {
        log.error("could not store the failed turn", { turnId: turn.id, error: storeErr as Error });
      }
      result.text += text;
      result.error = { code: err.code, message: err.message, status: err.status };
      turn.push({ event: "error", data: { code: err.code, message: err.message } });
    }
    usage.costUsd = Math.round(usage.costUsd * 1e6) / 1e6;
    turn.push({ event: "done", data: { conversationId: turn.conversationId, messageId: result.messageId, usage } });
    turn.finish(result);
    for (const fn of this.turnListeners) {
      try {
        fn(result);
      } catch (err) {
        log.error("turn listener failed", { error: err as Error });
      }
    }
  }
}
