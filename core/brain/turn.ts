import { emptyLoopUsage, type LoopUsage } from "../agent/loop.ts";
import type { TurnOrigin } from "./origin.ts";

/** The named events of POST /api/chat/stream, in the order DESIGN.md gives. */
export type TurnEvent =
  | { event: "conversation"; data: { id: string; turnId: string } }
  | { event: "text"; data: { delta: string } }
  /** The model's reasoning as it streams: shown collapsed in the console, never sent to a chat platform. */
  | { event: "thinking"; data: { delta: string } }
  | { event: "tool_use"; data: { id: string; name: string; input: unknown } }
  | { event: "tool_result"; data: { id: string; ok: boolean; summary: string } }
  | { event: "job"; data: { id: string; status: string } }
  | { event: "task"; data: { id: string; status: string } }
  | { event: "notice"; data: { code: string; message: string } }
  | { event: "error"; data: { code: string; message: string } }
  | { event: "done"; data: { conversationId: string; messageId: string | null; usage: TurnUsage } };

export type NumberedEvent = TurnEvent & { id: number };

/** What a turn cost: its model calls' tokens (cache reads and writes apart from full-price input) and cost. */
export type TurnUsage = LoopUsage;

export interface TurnResult {
  conversationId: string;
  turnId: string;
  origin: TurnOrigin;
  messageId: string | null;
  /** What the model said, to show or send; its thinking is never in here. */
  text: string;
  toolCalls: { id: string; name: string; input: unknown; ok: boolean; summary: string }[];
  usage: TurnUsage;
  /** Things the owner should know that did not stop the turn (budget spent...). */
  notices: { code: string; message: string }[];
  error: { code: string; message: string; status: number } | null;
}

/**
 * One turn's events, numbered and kept, so a listener can join late, leave
 * early (a browser that disconnects) or resume after the last id it saw while
 * the turn runs on regardless.
 */
export class Turn {
  readonly events: NumberedEvent[] = [];
  readonly abort = new AbortController();
  finished = false;
  private listeners = new Set<() => void>();
  private resolveDone!: (r: TurnResult) => void;
  readonly done: Promise<TurnResult>;

  constructor(
    readonly id: string,
    readonly origin: TurnOrigin,
    /** Empty until the turn opens a new conversation; a queued turn knows it from the start. */
    public conversationId = "",
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  bind(conversationId: string): void {
    this.conversationId = conversationId;
  }

  /** Ends a turn that never ran (a queued message whose conversation went away). */
  fail(err: { code: string; message: string; status: number }): void {
    const usage: TurnUsage = emptyLoopUsage();
    this.push({ event: "error", data: { code: err.code, message: err.message } });
    this.push({ event: "done", data: { conversationId: this.conversationId, messageId: null, usage } });
    this.finish({
      conversationId: this.conversationId,
      turnId: this.id,
      origin: this.origin,
      messageId: null,
      text: "",
      toolCalls: [],
      usage,
      notices: [],
      error: { code: err.code, message: err.message, status: err.status },
    });
  }

  push(ev: TurnEvent): void {
    this.events.push({ ...ev, id: this.events.length + 1 } as NumberedEvent);
    for (const l of this.listeners) l();
  }

  finish(result: TurnResult): void {
    this.finished = true;
    this.resolveDone(result);
    for (const l of this.listeners) l();
  }

  /** Yields every event after `afterId`, then new ones as they come, until the turn ends or `signal` aborts. */
  async *follow(afterId = 0, signal?: AbortSignal): AsyncGenerator<NumberedEvent> {
    let next = afterId;
    while (!signal?.aborted) {
      while (next < this.events.length) yield this.events[next++]!;
      if (this.finished) return;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.listeners.delete(wake);
          signal?.removeEventListener("abort", wake);
          resolve();
        };
        this.listeners.add(wake);
        signal?.addEventListener("abort", wake, { once: true });
      });
    }
  }
}
