import { desc } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import type { Logger } from "../telemetry/log.ts";
import { observations, reflections } from "./memory.sql.ts";
import type { MemoryService } from "./service.ts";

/** Rough but steady: about four characters a token for English prose. */
const CHARS_PER_TOKEN = 4;
const CACHE_MS = 30_000;
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

  constructor(
    private db: Db,
    private memory: MemoryService,
    private budgetTokens: number,
    private log: Logger,
  ) {}

  async section(conversationId: string, userMessage: string, signal?: AbortSignal): Promise<string | undefined> {
    if (this.budgetTokens <= 0) return undefined;
    // The prompt is rebuilt every tool round of a turn; the answer does not change within it.
    const key = `${conversationId}\u0000${userMessage}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.text;
    const wait = AbortSignal.timeout(EMBED_WAIT_MS);
    const text = await this.build(userMessage, signal ? AbortSignal.any([signal, wait]) : wait);
    this.cache.set(key, { at: Date.now(), text });
    if (this.cache.size > 200) for (const [k, v] of this.cache) if (Date.now() - v.at >= CACHE_MS) this.cache.delete(k);
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

    const refl = this.db.select().from(reflections).orderBy(desc(reflections.createdAt)).limit(20).all();
    const obs = this.db.select().from(observations).orderBy(desc(observations.createdAt)).limit(30).all();
    let found: Awaited<ReturnType<MemoryService["search"]>>["results"] = [];
    try {
      found = (await this.memory.search(userMessage, { limit: 12, signal })).results;
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
