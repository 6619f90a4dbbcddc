import type { ConversationStore } from "../conversations/store.ts";

/** Rough but steady: about four characters a token. */
const CHARS_PER_TOKEN = 4;
/** Compaction starts when a request would fill this share of the model's context window... */
const COMPACT_AT = 0.6;
/** ...and keeps the latest turns verbatim up to this share (at least the last one). */
const KEEP_VERBATIM = 0.25;
/** The summary of what was compacted keeps its newest lines up to this size. */
const MAX_SUMMARY_CHARS = 40_000;

/** What the owner says to compact a conversation now, on any channel. */
export const COMPACT_COMMAND = "/compact";
export const isCompactCommand = (message: string) => message.trim().toLowerCase() === COMPACT_COMMAND;

/**
 * Turns a conversation's older messages into observations (the memory
 * area's observer does it), observing what it had not read yet. Throws when
 * it cannot (no observer model, the model failed).
 */
export interface Summarizer {
  summarize(conversationId: string, range: { afterSeq: number; throughSeq: number }, signal: AbortSignal): Promise<string[]>;
}

export interface CompactionResult {
  compacted: boolean;
  /** What the owner is told. */
  message: string;
  /** The model sees the messages after this seq verbatim, the ones up to it as the summary. */
  throughSeq?: number;
  turns?: number;
  observations?: number;
}

/**
 * Compaction instead of truncation: when a conversation nears the model's
 * context window (or the owner asks with /compact), its older turns are
 * replaced, in what the model sees, by the observer's observations of them.
 * The messages stay stored and shown; the latest turns stay verbatim. The
 * summary goes in the long-lived part of the system prompt, so it is cached
 * with it until the next compaction.
 */
export class Compactor {
  summarizer: Summarizer | undefined;
  /** Conversations whose last answer filled the context window although the estimate said it fit. */
  private full = new Set<string>();

  constructor(
    private deps: {
      store: ConversationStore;
      /** The smallest context window of the agent's models, in tokens. */
      contextTokens: () => number;
    },
  ) {}

  /** Whether a request of this many characters (system prompt and history) should be compacted first. */
  due(chars: number): boolean {
    return chars / CHARS_PER_TOKEN > this.deps.contextTokens() * COMPACT_AT;
  }

  /** The model said the conversation filled its window: the next turn compacts first. */
  filled(conversationId: string): void {
    this.full.add(conversationId);
  }

  /**
   * Before a turn whose request (system prompt and history) has `chars`:
   * compacts when it nears the window, or all but the last turn when the last
   * answer filled it. Undefined when nothing was due.
   */
  async beforeTurn(conversationId: string, opts: { turnId: string; chars: number; signal: AbortSignal }): Promise<CompactionResult | undefined> {
    const filled = this.full.delete(conversationId);
    if (!filled && !this.due(opts.chars)) return undefined;
    return this.compact(conversationId, { signal: opts.signal, exceptTurn: opts.turnId, near: !filled });
  }

  /**
   * Compacts all but the newest turns: the last one, and when `near` (the
   * window is filling, not the owner asking) more while they fit in their
   * share of the window. `exceptTurn` is the turn that is starting.
   */
  async compact(conversationId: string, opts: { signal: AbortSignal; exceptTurn?: string; near?: boolean }): Promise<CompactionResult> {
    const { store } = this.deps;
    const conv = store.get(conversationId);
    const turns = store.turns(conversationId).filter((t) => t.turnId !== opts.exceptTurn);
    const keepChars = opts.near ? this.deps.contextTokens() * KEEP_VERBATIM * CHARS_PER_TOKEN : 0;
    let keep = 1;
    let kept = turns.at(-1)?.chars ?? 0;
    while (keep < turns.length && kept + turns[turns.length - 1 - keep]!.chars <= keepChars) kept += turns[turns.length - 1 - keep++]!.chars;
    const older = turns.slice(0, Math.max(0, turns.length - keep));
    if (!older.length) return { compacted: false, message: "Nothing to compact yet: only the last turn is left verbatim." };
    if (!this.summarizer) return { compacted: false, message: "Cannot compact: no observer is running to summarise the older turns." };
    const afterSeq = conv.compactedThrough ?? 0;
    const throughSeq = older.at(-1)!.toSeq;
    let lines: string[];
    try {
      lines = await this.summarizer.summarize(conversationId, { afterSeq, throughSeq }, opts.signal);
    } catch (err) {
      return { compacted: false, message: `Cannot compact now: the observer could not summarise the older turns (${(err as Error).message}).` };
    }
    let summary = [conv.summary ?? "", ...lines].filter(Boolean).join("\n");
    if (summary.length > MAX_SUMMARY_CHARS) summary = summary.slice(summary.indexOf("\n", summary.length - MAX_SUMMARY_CHARS) + 1);
    store.compact(conversationId, throughSeq, summary);
    const n = older.length;
    return {
      compacted: true,
      throughSeq,
      turns: n,
      observations: lines.length,
      message: `Compacted: the model now sees ${n === 1 ? "the oldest turn" : `the ${n} oldest turns`} as ${lines.length} observation${lines.length === 1 ? "" : "s"}; the last ${turns.length - n === 1 ? "turn stays" : `${turns.length - n} turns stay`} verbatim. Every message is still stored.`,
    };
  }

  /** The long-lived prompt section that stands for the compacted turns. */
  section(conversationId: string): string | undefined {
    const summary = this.deps.store.find(conversationId)?.summary;
    if (!summary) return undefined;
    return `## Earlier in this conversation\nThe older turns of this conversation were compacted into these observations; the messages after them are verbatim.\n${summary}`;
  }
}
