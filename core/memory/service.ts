import { desc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { badRequest, notFound } from "../errors.ts";
import type { Logger } from "../telemetry/log.ts";
import { withSpan } from "../telemetry/tracing.ts";
import { newId } from "../util/ids.ts";
import type { KeywordIndex } from "./keywords.ts";
import { memories } from "./memory.sql.ts";
import { CATEGORIES, type Category, DEDUP_THRESHOLD, isCategory, MAX_TEXT_CHARS, SEARCH_THRESHOLD } from "./types.ts";
import type { VectorIndex } from "./vectors.ts";

export type Memory = typeof memories.$inferSelect;
export type MemorySource = "owner" | "agent" | "import";

export interface SearchResult {
  id: string;
  text: string;
  category: Category;
  score: number;
}

/** How much of the ranking comes from meaning vs words when both are available. */
const VECTOR_WEIGHT = 0.7;

/** Checks text and category wherever they come from (API, tool, import), naming the field. */
export function validMemory(text: unknown, category: unknown, prefix = ""): { text: string; category: Category } {
  if (typeof text !== "string") throw badRequest(`${prefix}text: expected a string`);
  const clean = text.trim();
  if (!clean) throw badRequest(`${prefix}text: must not be empty`);
  if (clean.length > MAX_TEXT_CHARS) throw badRequest(`${prefix}text: must be at most ${MAX_TEXT_CHARS} characters (got ${clean.length})`);
  if (!isCategory(category)) throw badRequest(`${prefix}category: expected one of ${CATEGORIES.join(", ")}, got ${JSON.stringify(category)}`);
  return { text: clean, category };
}

/**
 * Long-term memory: store with dedup (cosine >= 0.92 updates the nearest memory),
 * hybrid search (vectors above 0.3 plus FTS5 keywords, one ranked list), and
 * keywords alone whenever no embedder is configured or it is failing.
 */
export class MemoryService {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private db: Db,
    readonly vectors: VectorIndex,
    private keywords: KeywordIndex,
    private log: Logger,
  ) {}

  /** Writes run one at a time so two near-identical stores cannot both insert. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  get(id: string): Memory {
    const row = this.db.select().from(memories).where(eq(memories.id, id)).get();
    if (!row) throw notFound("memory", id);
    return row;
  }

  private async embed(text: string, kind: "document" | "query", signal?: AbortSignal): Promise<Float32Array | null> {
    if (!this.vectors.usable()) return null;
    try {
      return await this.vectors.embedder!.embedOne(text, kind, signal);
    } catch (err) {
      this.log.debug("embedding unavailable, using keywords", { error: (err as Error).message });
      return null;
    }
  }

  store(input: { text: unknown; category: unknown; source: MemorySource }): Promise<{ id: string; updated: boolean }> {
    const { text, category } = validMemory(input.text, input.category);
    return withSpan("memory.store", { attributes: { "bakerst.memory.category": category, "bakerst.memory.source": input.source } }, () =>
      this.serial(async () => {
        let vector = await this.embed(text, "document");
        const now = Date.now();
        let existing: Memory | undefined;
        if (vector) {
          try {
            const [nearest] = await this.vectors.store!.search({ vector, limit: 1, threshold: DEDUP_THRESHOLD });
            this.vectors.storeOk();
            if (nearest) {
              existing = this.db.select().from(memories).where(eq(memories.id, nearest.id)).get();
              if (!existing) await this.vectors.store!.delete([nearest.id]);
            }
          } catch (err) {
            // The vector store is unreachable: keep the memory now, embed it once the store is back.
            this.log.warn("vector store unavailable; storing without a vector", { error: (err as Error).message });
            this.vectors.storeFailed(err);
            vector = null;
          }
        }
        if (!vector) {
          // Without vectors only the same words, ignoring case and spacing, count as the same memory.
          existing = this.db
            .select()
            .from(memories)
            .where(sql`lower(${memories.text}) = ${text.toLowerCase().replace(/\s+/g, " ")}`)
            .get();
        }
        const model = vector ? this.vectors.embedder!.model : null;
        const id = existing?.id ?? newId();
        if (existing) {
          this.db.update(memories).set({ text, category, updatedAt: now, embeddedWith: model }).where(eq(memories.id, id)).run();
        } else {
          this.db.insert(memories).values({ id, text, category, source: input.source, embeddedWith: model, createdAt: now, updatedAt: now }).run();
        }
        if (vector) {
          try {
            await this.vectors.store!.upsert([{ id, vector, category }]);
          } catch (err) {
            this.log.warn("vector store write failed; the memory is kept and embedded later", { id, error: (err as Error).message });
            this.vectors.storeFailed(err);
            this.db.update(memories).set({ embeddedWith: null }).where(eq(memories.id, id)).run();
            this.vectors.kick();
          }
        } else if (this.vectors.embedder) {
          this.vectors.kick();
        }
        return { id, updated: !!existing };
      }),
    );
  }

  /**
   * Moves a memory to another category. Its vector is written again by the
   * background embedder (the category lives beside the vector in both stores);
   * keyword search sees the change at once.
   */
  recategorize(id: string, category: unknown): Promise<ReturnType<typeof view>> {
    if (!isCategory(category)) throw badRequest(`category: expected one of ${CATEGORIES.join(", ")}, got ${JSON.stringify(category)}`);
    return this.serial(async () => {
      const row = this.db.update(memories).set({ category, updatedAt: Date.now(), embeddedWith: null }).where(eq(memories.id, id)).returning().get();
      if (!row) throw notFound("memory", id);
      if (this.vectors.embedder) this.vectors.kick();
      return view(row);
    });
  }

  async delete(id: string): Promise<void> {
    await this.serial(async () => {
      const gone = this.db.delete(memories).where(eq(memories.id, id)).returning({ id: memories.id }).all();
      if (!gone.length) throw notFound("memory", id);
      if (this.vectors.store && this.vectors.state === "ready") {
        await this.vectors.store.delete([id]).catch((err) => this.log.warn("vector delete failed", { id, error: (err as Error).message }));
      }
    });
  }

  list(opts: { category?: Category; limit: number; offset: number }) {
    const where = opts.category ? eq(memories.category, opts.category) : undefined;
    const rows = this.db.select().from(memories).where(where).orderBy(desc(memories.updatedAt), desc(memories.id)).limit(opts.limit).offset(opts.offset).all();
    const total = this.db.select({ n: sql<number>`count(*)` }).from(memories).where(where).get()?.n ?? 0;
    return { memories: rows.map(view), total, next: opts.offset + rows.length < total ? opts.offset + rows.length : null };
  }

  /** `signal` bounds the wait for the embedder; past it the search answers from keywords. */
  search(query: string, opts: { category?: Category; limit: number; signal?: AbortSignal }): Promise<{ results: SearchResult[]; mode: "hybrid" | "keywords" }> {
    return withSpan("memory.search", { attributes: { "bakerst.memory.category": opts.category, "bakerst.memory.limit": opts.limit } }, async (span) => {
      const found = await this.find(query, opts);
      span.set({ "bakerst.memory.mode": found.mode, "bakerst.memory.results": found.results.length });
      return found;
    });
  }

  private async find(query: string, opts: { category?: Category; limit: number; signal?: AbortSignal }): Promise<{ results: SearchResult[]; mode: "hybrid" | "keywords" }> {
    const q = query.trim();
    if (!q) return { results: [], mode: this.vectors.usable() ? "hybrid" : "keywords" };
    const vector = await this.embed(q, "query", opts.signal);
    const keywordHits = this.keywords.search(q, { limit: opts.limit * 2, category: opts.category, keepCommon: !vector });
    if (!vector) {
      return { results: keywordHits.slice(0, opts.limit).map((h) => ({ ...h, score: round(h.score) })), mode: "keywords" };
    }
    let vectorHits: { id: string; score: number }[] = [];
    try {
      vectorHits = await this.vectors.store!.search({ vector, limit: opts.limit * 2, threshold: SEARCH_THRESHOLD, category: opts.category });
      this.vectors.storeOk();
    } catch (err) {
      this.log.warn("vector search failed; keywords only", { error: (err as Error).message });
      this.vectors.storeFailed(err);
      const words = this.keywords.search(q, { limit: opts.limit, category: opts.category });
      return { results: words.map((h) => ({ ...h, score: round(h.score) })), mode: "keywords" };
    }
    const merged = new Map<string, { cos: number; kw: number; text?: string; category?: Category }>();
    for (const h of vectorHits) merged.set(h.id, { cos: h.score, kw: 0 });
    for (const h of keywordHits) {
      const m = merged.get(h.id) ?? { cos: 0, kw: 0 };
      merged.set(h.id, { ...m, kw: h.score, text: h.text, category: h.category });
    }
    const missing = [...merged].filter(([, m]) => m.text === undefined).map(([id]) => id);
    if (missing.length) {
      const rows = this.db
        .select({ id: memories.id, text: memories.text, category: memories.category })
        .from(memories)
        .where(
          sql`${memories.id} IN (${sql.join(
            missing.map((id) => sql`${id}`),
            sql`, `,
          )})`,
        )
        .all();
      for (const r of rows) Object.assign(merged.get(r.id)!, { text: r.text, category: r.category });
    }
    const results = [...merged]
      .filter(([, m]) => m.text !== undefined)
      .map(([id, m]) => ({ id, text: m.text!, category: m.category!, score: round(VECTOR_WEIGHT * m.cos + (1 - VECTOR_WEIGHT) * m.kw) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, opts.limit);
    return { results, mode: "hybrid" };
  }

  count(category?: Category): number {
    return (
      this.db
        .select({ n: sql<number>`count(*)` })
        .from(memories)
        .where(category ? eq(memories.category, category) : undefined)
        .get()?.n ?? 0
    );
  }
}

const round = (n: number) => Math.round(n * 1e4) / 1e4;

export const view = (m: Memory) => ({
  id: m.id,
  text: m.text,
  category: m.category as Category,
  source: m.source,
  createdAt: m.createdAt,
  updatedAt: m.updatedAt,
  embedded: m.embeddedWith !== null,
});
