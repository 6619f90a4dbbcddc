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
 * The memory section of the system prompt, in layers: reflections (the long
 * view), recent observations, then the memories most relevant to the owner's
 * message. Each layer gets a third of the token budget; what one leaves unused
 * passes to the next, so relevant memories get any slack.
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

  async section(conversationId: string, userMessage: string, signal?: AbortSignal): Promise<string | undefined> {
    if (this.budgetTokens <= 0) return undefined;
    // The prompt is rebuilt every tool round of a turn; the answer does not change within it.
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

  /** Forget cached sections after memory changes, so a memory stored this turn shows up next round. */
  invalidate(): void {
    this.cache.clear();
  }

  private async build(userMessage: string, signal: AbortSignal): Promise<string | undefined> {
    let budget = this.budgetTokens * CHARS_PER_TOKEN;
    const share = () => Math.floor(budget / 3);
    const layer = (title: string, lines: string[], allowance: number): string | undefined => {
      const kept: string[] = [];
      let used = title.length + 1;
      for (const l of lines) {
        if (used + l.length + 1 > allowance) break;
        kept.push(l);
        used += l.length + 1;
      }
      if (!kept.length) return undefined;
      budget -= used;
      return `${title}\n${kept.join("\n")}`;
    };

    const refl = this.recentReflections.all();
    const obs = this.recentObservations.all();
    let found: Awaited<ReturnType<MemoryService["search"]>>["results"] = [];
    try {
      // A memory store that is still empty answers nothing; skip the search (and the embedding call).
      if (this.anyMemory.get()?.any) found = (await this.memory.search(userMessage, { limit: 12, signal })).results;
    } catch (err) {
      this.log.warn("memory search for the prompt failed", { error: (err as Error).message });
    }

    const parts = [
      layer("## Reflections", refl.map((r) => `- ${r.text}`), share()),
      layer("## Recent observations", obs.map((o) => `- (${o.kind}) ${o.text}`), Math.floor(budget / 2)),
      layer("## Memories relevant to this message", found.map((m) => `- [${m.category}] ${m.text} (id ${m.id})`), budget),
    ].filter((p): p is string => !!p);
    if (!parts.length) return undefined;
    return `# What you remember about the owner\nUse this when it helps; the owner does not need to repeat it. Correct or delete a memory with the memory tools when it turns out wrong.\n\n${parts.join("\n\n")}`;
  }
}
