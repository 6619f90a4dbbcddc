import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import SOUL from "../personality/SOUL.md" with { type: "text" };
import BRAIN from "../personality/BRAIN.md" with { type: "text" };
import WORKER from "../personality/WORKER.md" with { type: "text" };

export const PERSONALITY_DEFAULTS = { "SOUL.md": SOUL, "BRAIN.md": BRAIN, "WORKER.md": WORKER } as const;
export type PersonalityFile = keyof typeof PERSONALITY_DEFAULTS;

export interface PromptContext {
  conversationId: string;
  /** The owner's latest message, for contributors that retrieve by relevance. */
  userMessage: string;
  signal: AbortSignal;
}

/** A section other areas add to the system prompt (memory, skills, budget state). */
export type PromptContributor = (ctx: PromptContext) => Promise<string | undefined> | string | undefined;

/**
 * Personality files ship inside the binary; a file of the same name in the data
 * dir replaces the default and is re-read when it changes.
 */
export class Personality {
  private cache = new Map<string, { mtimeMs: number; text: string; checkedAt: number }>();

  constructor(
    private dataDir: string,
    /** How often the data dir is looked at again; edits show up within this time. */
    private recheckMs = 1000,
  ) {}

  read(name: PersonalityFile): string {
    const now = Date.now();
    const hit = this.cache.get(name);
    if (hit && now - hit.checkedAt < this.recheckMs) return hit.text;
    const path = join(this.dataDir, name);
    const mtimeMs = existsSync(path) ? statSync(path).mtimeMs : -1;
    if (hit && hit.mtimeMs === mtimeMs) {
      hit.checkedAt = now;
      return hit.text;
    }
    const text = mtimeMs < 0 ? PERSONALITY_DEFAULTS[name] : readFileSync(path, "utf8");
    this.cache.set(name, { mtimeMs, text, checkedAt: now });
    return text;
  }
}

export class SystemPrompt {
  private contributors: { name: string; fn: PromptContributor }[] = [];

  constructor(
    private personality: Personality,
    private now: () => Date = () => new Date(),
  ) {}

  contribute(name: string, fn: PromptContributor): void {
    this.contributors.push({ name, fn });
  }

  async build(ctx: PromptContext): Promise<string> {
    const parts = [this.personality.read("SOUL.md").trim(), this.personality.read("BRAIN.md").trim()];
    parts.push(`Current time: ${this.now().toISOString()} (UTC).`);
    const extra = await Promise.all(
      this.contributors.map(async ({ name, fn }) => {
        try {
          return await fn(ctx);
        } catch (err) {
          return `(${name} unavailable: ${(err as Error).message})`;
        }
      }),
    );
    for (const section of extra) if (section?.trim()) parts.push(section.trim());
    return parts.join("\n\n");
  }
}
