import type { ChatEvent, ConversationDetail, StoredMessage, TurnUsage } from "../../api/types.ts";

export interface ToolCall {
  id: string;
  name: string;
  input: unknown;
  result?: { ok: boolean; summary: string };
}

export type Part =
  | { kind: "text"; text: string }
  | { kind: "thinking"; text: string; redacted?: boolean }
  | { kind: "search"; query: string; found: string[] }
  | { kind: "tool"; call: ToolCall }
  | { kind: "notice"; code: string; message: string };

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
  /** The model sees the turns before this one as the compaction's summary: a divider goes above it. */
  summary?: string;
}

/** Share of a turn's input read from the prompt cache, 0..1. */
export function cacheShare(u: Pick<TurnUsage, "inputTokens" | "cacheReadTokens" | "cacheWriteTokens">): number {
  const all = u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens;
  return all ? u.cacheReadTokens / all : 0;
}

let counter = 0;
export const localKey = () => `local-${++counter}`;

export const TERMINAL_JOB = new Set(["completed", "failed"]);
export const TERMINAL_TASK = new Set(["succeeded", "failed", "cancelled", "timed_out"]);

/** A stored conversation as turns, with what each cost and where the model's verbatim history starts after a compaction. */
export function turnsFromConversation(c: Pick<ConversationDetail, "messages" | "usage" | "compaction">, skipTurn?: string): TurnView[] {
  const turns = turnsFromMessages(c.messages, skipTurn);
  for (const t of turns) {
    const u = t.turnId ? c.usage[t.turnId] : undefined;
    const model = c.messages.findLast((m) => m.turnId === t.turnId && m.model)?.model ?? null;
    if (u?.modelCalls) t.usage = { ...u, model };
  }
  if (c.compaction) {
    const after = c.messages.find((m) => m.seq > c.compaction!.throughSeq);
    const first = turns.find((t) => t.turnId === after?.turnId);
    if (first) first.summary = c.compaction.summary;
  }
  return turns;
}

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
      else if (b.type === "thinking") turn.parts.push({ kind: "thinking", text: b.thinking });
      else if (b.type === "redacted_thinking") turn.parts.push({ kind: "thinking", text: "", redacted: true });
      else if (b.type === "server_tool_use") turn.parts.push({ kind: "search", query: String((b.input as { query?: unknown })?.query ?? ""), found: [] });
      else if (b.type === "tool_search_tool_result") {
        const search = turn.parts.findLast((p) => p.kind === "search");
        if (search?.kind === "search") search.found = (b.content.tool_references ?? []).map((r) => r.tool_name);
      } else if (b.type === "tool_use") {
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
    case "text":
    case "thinking": {
      const kind = ev.event;
      const last = turn.parts[turn.parts.length - 1];
      if (last?.kind === kind) last.text += ev.data.delta;
      else turn.parts.push({ kind, text: ev.data.delta });
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
