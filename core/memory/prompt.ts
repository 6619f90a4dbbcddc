import type { Db } from "../db/client.ts";
import type { Logger } from "../telemetry/log.ts";
import type { MemoryService } from "./service.ts";

/** Rough but steady: about four characters a token for English prose. */
const CHARS_PER_TOKEN = 4;
const CACHE_MS = 30_000;
const CACHE_MAX = 200;
/** A slow embedder must not hold up the answer: past this the prompt uses keyword matches. */
const EMBED_WAIT_MS = 4_000;

/**
 * The memory sections of the system prompt, in two layers with one token
 * budget: the reflections (the long view) are long-lived context, sent with
 * the steady part of the prompt and cached with it until the reflector writes
 * new ones; recent observations and the memories relevant to the owner's
 * message change every turn and ride with it. Reflections get a third of the
 * budget, observations half of what is left, relevant memories the rest.
 */
export class MemoryPrompt {
  private cache = new Map<string, { at: number; text: string | undefined }>();
  // Cached statements: these run on every turn.
  private recentReflections;
  private recentObservations;
  private anyMemory;

  constructor(
    db: Db,
    private memory: MemoryService,
    private budgetTokens: number,
    private log: Logger,
  ) {
    this.recentReflections = db.$client.query<{ text: string }, []>("select text from reflections order by created_at desc limit 20");
    this.recentObservations = db.$client.query<{ kind: string; text: string }, []>("select kind, text from observations order by created_at desc limit 30");
    this.anyMemory = db.$client.query<{ any: number }, []>("select exists(select 1 from memories) as any");
  }

  /** The long-lived section: reflections. */
  reflections(): string | undefined {
    const r = this.reflectionLayer();
    return r.text && `# What you have learned about the owner\n${r.text}`;
  }

  /** The per-turn section: recent observations and the memories relevant to the message. */
  async section(conversationId: string, userMessage: string, signal?: AbortSignal): Promise<string | undefined> {
    if (this.budgetTokens <= 0) return undefined;
    // The prompt is built once a turn, but a queued chat may ask again within moments.
    const key = `${conversationId}\u0000${userMessage}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.text;
    const wait = AbortSignal.timeout(EMBED_WAIT_MS);
    const text = await this.build(userMessage, signal ? AbortSignal.any([signal, wait]) : wait);
    this.cache.set(key, { at: Date.now(), text });
    // Oldest first (a Map keeps insertion order): the bound holds however busy the chat is.
    for (const k of this.cache.keys()) {
      if (this.cache.size <= CACHE_MAX) break;
      this.cache.delete(k);
    }
    return text;
  }

  /** Forget cached sections after memory changes, so a memory stored this turn shows up next turn. */
  invalidate(): void {
    this.cache.clear();
  }

  private reflectionLayer(): { text: string | undefined; used: number } {
    if (this.budgetTokens <= 0) return { text: undefined, used: 0 };
    const lines = this.recentReflections.all().map((r) => `- ${r.text}`);
    return layer("## Reflections", lines, Math.floor((this.budgetTokens * CHARS_PER_TOKEN) / 3));
  }

  private async build(userMessage: string, signal: AbortSignal): Promise<string | undefined> {
    let budget = this.budgetTokens * CHARS_PER_TOKEN - this.reflectionLayer().used;
    const obs = this.recentObservations.all();
    let found: Awaited<ReturnType<MemoryService["search"]>>["results"] = [];
    try {
      // A memory store that is still empty answers nothing; skip the search (and the embedding call).
      if (this.anyMemory.get()?.any) found = (await this.memory.search(userMessage, { limit: 12, signal })).results;
    } catch (err) {
      this.log.warn("memory search for the prompt failed", { error: (err as Error).message });
    }
    const recent = layer(
      "## Recent observations",
      obs.map((o) => `- (${o.kind}) ${o.text}`),
      Math.floor(budget / 2),
    );
    budget -= recent.used;
    const relevant = layer(
      "## Memories relevant to this message",
      found.map((m) => `- [${m.category}] ${m.text} (id ${m.id})`),
      budget,
    );
    const parts = [recent.text, relevant.text].filter((p): p is string => !!p);
    if (!parts.length) return undefined;
    return `# What you remember about the owner\nUse this when it helps; the owner does not need to repeat it. Correct or delete a memory with the memory tools when it turns out wrong.\n\n${parts.join("\n\n")}`;
  }
}

/** A titled list of lines, as many as fit in `allowance` characters. */
function layer(title: string, lines: string[], allowance: number): { text: string | undefined; used: number } {
  const kept: string[] = [];
  let used = title.length + 1;
  for (const l of lines) {
    if (used + l.length + 1 > allowance) break;
    kept.push(l);
    used += l.length + 1;
  }
  return kept.length ? { text: `${title}\n${kept.join("\n")}`, used } : { text: undefined, used: 0 };
}
