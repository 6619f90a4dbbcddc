import type { ChatEvent, StoredMessage, TurnUsage } from "../../api/types.ts";

export interface ToolCall {
  id: string;
  name: string;
  input: unknown;
  result?: { ok: boolean; summary: string };
}

export type Part = { kind: "text"; text: string } | { kind: "tool"; call: ToolCall } | { kind: "notice"; code: string; message: string };

/** One exchange as the owner sees it: what they asked, and everything the agent did and said in reply. */
export interface TurnView {
  key: string;
  turnId?: string;
  user: string;
  parts: Part[];
  error?: { code: string; message: string };
  streaming: boolean;
  jobs: Record<string, string>;
  /** Tasks the agent started in this turn: status, and whether one waits for the owner's approval. */
  tasks: Record<string, { status: string; pending: boolean }>;
  usage?: TurnUsage;
}

let counter = 0;
export const localKey = () => `local-${++counter}`;

export const TERMINAL_JOB = new Set(["completed", "failed"]);
export const TERMINAL_TASK = new Set(["succeeded", "failed", "cancelled", "timed_out"]);

/** Rebuilds the turns of a stored conversation, tool results joined to their calls. */
export function turnsFromMessages(messages: StoredMessage[], skipTurn?: string): TurnView[] {
  const turns: TurnView[] = [];
  const byTurn = new Map<string, TurnView>();
  const calls = new Map<string, ToolCall>();
  for (const m of messages) {
    let turn = byTurn.get(m.turnId);
    if (!turn) {
      turn = { key: m.turnId, turnId: m.turnId, user: "", parts: [], streaming: false, jobs: {}, tasks: {} };
      byTurn.set(m.turnId, turn);
      turns.push(turn);
    }
    if (m.error) turn.error = m.error;
    // A turn still running is replayed from its event stream, which repeats what is stored so far.
    if (skipTurn && m.turnId === skipTurn && m.role !== "user") continue;
    for (const b of m.content) {
      if (m.role === "user" && b.type === "text") turn.user += (turn.user ? "\n" : "") + b.text;
      else if (b.type === "text" && b.text) turn.parts.push({ kind: "text", text: b.text });
      else if (b.type === "tool_use") {
        const call: ToolCall = { id: b.id, name: b.name, input: b.input };
        calls.set(b.id, call);
        turn.parts.push({ kind: "tool", call });
      } else if (b.type === "tool_result") {
        const call = calls.get(b.tool_use_id);
        if (call) call.result = { ok: !b.is_error, summary: b.content };
      }
    }
  }
  return turns;
}

/** Applies one stream event to the turn it belongs to (mutates: call inside a store `produce`). */
export function applyEvent(turn: TurnView, ev: ChatEvent): void {
  switch (ev.event) {
    case "conversation":
      turn.turnId = ev.data.turnId;
      return;
    case "text": {
      const last = turn.parts[turn.parts.length - 1];
      if (last?.kind === "text") last.text += ev.data.delta;
      else turn.parts.push({ kind: "text", text: ev.data.delta });
      return;
    }
    case "tool_use":
      turn.parts.push({ kind: "tool", call: { id: ev.data.id, name: ev.data.name, input: ev.data.input } });
      return;
    case "tool_result":
      for (const p of turn.parts) if (p.kind === "tool" && p.call.id === ev.data.id) p.call.result = { ok: ev.data.ok, summary: ev.data.summary };
      return;
    case "job":
      turn.jobs[ev.data.id] = ev.data.status;
      return;
    case "task":
      turn.tasks[ev.data.id] = { status: ev.data.status, pending: turn.tasks[ev.data.id]?.pending ?? false };
      return;
    case "notice":
      turn.parts.push({ kind: "notice", code: ev.data.code, message: ev.data.message });
      return;
    case "error":
      turn.error = ev.data;
      return;
    case "done":
      turn.streaming = false;
      turn.usage = ev.data.usage;
      return;
  }
}
