import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Stability, SystemBlock } from "../agent/types.ts";
import BRAIN from "../personality/BRAIN.md" with { type: "text" };
import SOUL from "../personality/SOUL.md" with { type: "text" };
import WORKER from "../personality/WORKER.md" with { type: "text" };
import type { TurnOrigin } from "./origin.ts";

export const PERSONALITY_DEFAULTS = { "SOUL.md": SOUL, "BRAIN.md": BRAIN, "WORKER.md": WORKER } as const;
export type PersonalityFile = keyof typeof PERSONALITY_DEFAULTS;

export interface PromptContext {
  conversationId: string;
  /** The owner's latest message, for contributors that retrieve by relevance. */
  userMessage: string;
  /** Where the message came from, for channel hints (keep it short on a phone...). */
  origin?: TurnOrigin;
  signal: AbortSignal;
}

/** A section other areas add to the system prompt (memory, skills, budget state). */
export type PromptContributor = (ctx: PromptContext) => Promise<string | undefined> | string | undefined;

const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** To the minute: seconds would make every turn's context differ for nothing. */
export function minuteOf(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC, ${WEEKDAYS[d.getUTCDay()]}`;
}

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

/**
 * The system prompt, in blocks ordered from the steadiest to the most
 * changing (see `Stability`): the personality, then what areas contribute
 * in the layer they declare, then the time. Providers cache up to the end of
 * each steady layer, so a change in one layer leaves the ones before it cached.
 */
export class SystemPrompt {
  private contributors: { name: string; fn: PromptContributor; layer: Stability }[] = [];

  constructor(
    private personality: Personality,
    private now: () => Date = () => new Date(),
    /** Sees every section an area contributes: a recalled memory holding a stored secret does not reach the model vendor. */
    private redact: (text: string) => string = (t) => t,
  ) {}

  /**
   * Adds a section. `layer` says how often it changes: `stable` (only when
   * the owner edits something: skills' instructions), `long` (a few times a
   * day: reflections), `turn` (every message: relevant memories, channel
   * hints; the default).
   */
  contribute(name: string, fn: PromptContributor, opts: { layer?: Stability } = {}): void {
    this.contributors.push({ name, fn, layer: opts.layer ?? "turn" });
  }

  async build(ctx: PromptContext): Promise<SystemBlock[]> {
    const sections = await Promise.all(
      this.contributors.map(async ({ name, fn, layer }) => {
        let text: string | undefined;
        try {
          text = await fn(ctx);
        } catch (err) {
          text = `(${name} unavailable: ${(err as Error).message})`;
        }
        return { layer, text: text === undefined ? undefined : this.redact(text).trim() };
      }),
    );
    const of = (layer: Stability) => sections.flatMap((s) => (s.layer === layer && s.text ? [s.text] : []));
    const blocks: SystemBlock[] = [
      { stability: "stable", text: [this.personality.read("SOUL.md").trim(), this.personality.read("BRAIN.md").trim(), ...of("stable")].join("\n\n") },
      { stability: "long", text: of("long").join("\n\n") },
      { stability: "turn", text: [`Current time: ${minuteOf(this.now())}.`, ...of("turn")].join("\n\n") },
    ];
    return blocks.filter((b) => b.text);
  }
}
