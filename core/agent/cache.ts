import type { Block, ChatMessage, ModelRequest, SystemBlock } from "./types.ts";

/** Anthropic takes at most this many cache breakpoints in one request. */
export const MAX_BREAKPOINTS = 4;

/**
 * A request laid out for the prefix caches, steadiest first: the stable and
 * long system blocks (in that order), then the messages; the `turn` blocks
 * are one text that rides with the owner's newest message (`turnAt`), after
 * the history, or closes the system prompt when the request does not say
 * where the turn starts.
 */
export interface Layout {
  system: SystemBlock[];
  turnText: string | undefined;
  turnAt: number | undefined;
}

export function layout(req: Pick<ModelRequest, "system" | "messages" | "turnStart">): Layout {
  const blocks = typeof req.system === "string" ? [{ stability: "stable" as const, text: req.system }] : req.system;
  const kept = blocks.filter((b) => b.text.trim() !== "");
  const system = [...kept.filter((b) => b.stability === "stable"), ...kept.filter((b) => b.stability === "long")];
  const turn = kept.filter((b) => b.stability === "turn").map((b) => b.text.trim());
  const turnText = turn.length ? `<context>\n${turn.join("\n\n")}\n</context>` : undefined;
  const at = req.turnStart;
  if (turnText && (at === undefined || req.messages[at]?.role !== "user")) {
    return { system: [...system, { stability: "turn", text: turnText }], turnText: undefined, turnAt: undefined };
  }
  return { system, turnText, turnAt: turnText ? at : undefined };
}

/** The owner's newest message with the turn's context after their words, as both providers send it. */
export function withTurnText(messages: ChatMessage[], l: Layout): ChatMessage[] {
  if (l.turnText === undefined || l.turnAt === undefined) return messages;
  const out = messages.slice();
  const m = out[l.turnAt]!;
  out[l.turnAt] = { role: m.role, content: [...m.content, { type: "text", text: l.turnText }] };
  return out;
}

export interface CachePlan {
  /** Indexes into the laid-out system blocks whose end is a breakpoint. */
  system: number[];
  /** Indexes of messages whose last cacheable block is a breakpoint. */
  messages: number[];
}

/**
 * Where the cache breakpoints go (at most four). In the system prompt: the
 * end of the stable blocks (tools and personality, shared by every
 * conversation) and of the long-lived ones. In the messages, for the agent
 * loop (the turn's context rides after the owner's words, so the history
 * before it repeats byte for byte the next turn):
 * - a turn's first round: the owner's words of the previous turn, which that
 *   turn wrote, so this one reads the whole history; and this turn's words,
 *   for the next turn (and this turn's next round) to read;
 * - later rounds: the end of the previous round, which that round wrote, and
 *   the end of this one, for the next round.
 * The API also looks up to 20 blocks back from each breakpoint, which covers
 * the context and the answer that follow the owner's words.
 */
export function cachePlan(l: Layout, req: Pick<ModelRequest, "messages" | "turnStart" | "cacheMessages">): CachePlan {
  const lastOf = (s: SystemBlock["stability"]) => l.system.findLastIndex((b) => b.stability === s);
  const system = [lastOf("stable"), lastOf("long")].filter((i) => i >= 0);
  const messages: number[] = [];
  const { messages: ms } = req;
  if (req.cacheMessages && ms.length > 0) {
    const start = Math.min(req.turnStart ?? ms.length - 1, ms.length - 1);
    const lastAssistant = ms.findLastIndex((m) => m.role === "assistant");
    if (lastAssistant > start) {
      const previous = ms.findLastIndex((m, i) => i < lastAssistant && i >= start && m.role === "user");
      if (previous >= 0) messages.push(previous);
      messages.push(ms.length - 1);
    } else {
      const spoken = (m: ChatMessage) => m.role === "user" && m.content.some((b) => b.type === "text") && !m.content.some((b) => b.type === "tool_result");
      const previousTurn = ms.findLastIndex((m, i) => i < start && spoken(m));
      if (previousTurn >= 0) messages.push(previousTurn);
      messages.push(start);
    }
  }
  return { system: system.slice(0, MAX_BREAKPOINTS - messages.length), messages };
}

/** Thinking blocks cannot carry a breakpoint; the block before them can. */
export function cacheableIndex(content: Block[]): number {
  return content.findLastIndex((b) => b.type !== "thinking" && b.type !== "redacted_thinking" && !(b.type === "text" && b.text === ""));
}
