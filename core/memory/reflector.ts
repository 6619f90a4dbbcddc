import { asc, inArray, isNull } from "drizzle-orm";
import type { ModelRouter } from "../agent/router.ts";
import type { Db } from "../db/client.ts";
import { AppError } from "../errors.ts";
import type { Logger } from "../telemetry/log.ts";
import { newId } from "../util/ids.ts";
import { observations, reflections } from "./memory.sql.ts";
import { parseJsonList } from "./parse.ts";

const MAX_REFLECTION_CHARS = 2_000;
const MAX_INPUT_OBSERVATIONS = 400;

export const REFLECTOR_PROMPT = `You compress observations about an owner, gathered from many conversations with their personal AI agent, into a few durable reflections: patterns, standing preferences, ongoing projects and what they imply.

Answer with a JSON array of strings and nothing else, each one self-contained paragraph of at most three sentences. Merge duplicates, drop what has been superseded, keep concrete names and numbers.`;

/**
 * When unreflected observations pass a size threshold, the reflector model
 * compresses them into reflections and marks them as reflected. Background,
 * budget-respecting, and skipped when no model is configured.
 */
export class Reflector {
  private running: Promise<void> | null = null;
  private again = false;
  private abort = new AbortController();
  lastRun: { at: number; stored: number; skipped?: string } | null = null;

  constructor(private deps: { db: Db; router: ModelRouter; log: Logger; thresholdChars: number }) {}

  poke(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.reflect().catch((err) => this.deps.log.warn("reflector failed", { error: (err as Error).message }));
      } while (this.again);
    })().finally(() => {
      this.running = null;
    });
  }

  async close(): Promise<void> {
    this.abort.abort(new Error("bakerst is shutting down"));
    await this.idle();
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async reflect(): Promise<number> {
    const { db, router, log, thresholdChars } = this.deps;
    if (!router.hasModel("reflector")) return 0;
    const pending = db.select().from(observations).where(isNull(observations.reflectionId)).orderBy(asc(observations.createdAt)).limit(MAX_INPUT_OBSERVATIONS).all();
    const size = pending.reduce((n, o) => n + o.text.length, 0);
    if (size < thresholdChars) return 0;
    const list = pending.map((o) => `- [${o.kind}] ${o.text}`).join("\n");
    let reply: string;
    try {
      const res = await router.complete(
        { system: REFLECTOR_PROMPT, messages: [{ role: "user", content: [{ type: "text", text: `Observations, oldest first:\n${list}` }] }], maxTokens: 2048 },
        { role: "reflector", background: true, signal: this.abort.signal },
      );
      reply = res.text;
    } catch (err) {
      if (this.abort.signal.aborted) return 0;
      this.lastRun = { at: Date.now(), stored: 0, skipped: err instanceof AppError ? err.code : "error" };
      log.info("reflector skipped", { reason: (err as Error).message });
      return 0;
    }
    const texts = parseJsonList(reply).flatMap((item) => {
      const t = typeof item === "string" ? item : typeof (item as { text?: unknown })?.text === "string" ? (item as { text: string }).text : "";
      return t.trim() ? [t.trim().slice(0, MAX_REFLECTION_CHARS)] : [];
    });
    if (!texts.length) {
      this.lastRun = { at: Date.now(), stored: 0, skipped: "empty_reply" };
      log.warn("reflector answered with no reflections; observations kept for the next run");
      return 0;
    }
    const now = Date.now();
    const ids = texts.map(() => newId());
    db.transaction((tx) => {
      texts.forEach((text, i) => tx.insert(reflections).values({ id: ids[i]!, text, observationCount: pending.length, createdAt: now }).run());
      tx.update(observations)
        .set({ reflectionId: ids[0]! })
        .where(
          inArray(
            observations.id,
            pending.map((o) => o.id),
          ),
        )
        .run();
    });
    this.lastRun = { at: now, stored: texts.length };
    log.info("reflections stored", { count: texts.length, from: pending.length });
    return texts.length;
  }
}
