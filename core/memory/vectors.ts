import { eq, inArray, isNull, ne, or, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { settings } from "../db/settings.sql.ts";
import type { Logger } from "../telemetry/log.ts";
import type { ResilientEmbedder } from "./embed/resilient.ts";
import { memories } from "./memory.sql.ts";
import type { Category, VectorStore } from "./types.ts";

const META_KEY = "memory.embedding";
const BATCH = 64;
const RETRY_MS = 15_000;

interface Meta {
  model: string;
  provider: string;
  dimension: number;
  store: string;
}

export type VectorState = "off" | "starting" | "ready" | "unavailable";

/**
 * Keeps the vector index in step with the memories table: learns the model's
 * dimension, notices a changed model (or store) at start and re-embeds in the
 * background, and embeds whatever was stored while the embedder was down.
 * Until a memory has its vector, keyword search still finds it.
 */
export class VectorIndex {
  state: VectorState;
  dimension: number | null = null;
  reembedding = false;
  private running: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private abort = new AbortController();
  private lastError: string | null = null;
  /** The last failure of the vector store seen by a search or store, cleared by the next success. */
  storeError: string | null = null;

  storeFailed(err: unknown): void {
    this.storeError = (err as Error)?.message ?? String(err);
  }

  storeOk(): void {
    this.storeError = null;
  }

  constructor(
    private db: Db,
    readonly store: VectorStore | null,
    readonly embedder: ResilientEmbedder | null,
    private log: Logger,
  ) {
    this.state = store && embedder ? "starting" : "off";
  }

  /** True when vector search can be asked right now. */
  usable(): boolean {
    return this.state === "ready" && !!this.embedder?.available();
  }

  private readMeta(): Meta | undefined {
    return this.db.select().from(settings).where(eq(settings.key, META_KEY)).get()?.value as Meta | undefined;
  }

  private writeMeta(meta: Meta): void {
    const now = Date.now();
    this.db
      .insert(settings)
      .values({ key: META_KEY, value: meta, updatedAt: now })
      .onConflictDoUpdate({ target: settings.key, set: { value: meta, updatedAt: now } })
      .run();
  }

  /** Brings the index up; never throws: on failure memory stays on keywords and this retries later. */
  async start(): Promise<void> {
    if (!this.store || !this.embedder || this.closed) return;
    try {
      const probe = await this.embedder.embedOne("dimension probe", "document", this.abort.signal);
      const dimension = probe.length;
      const meta = this.readMeta();
      const held = await this.store.dimension();
      const changed = !meta || meta.model !== this.embedder.model || meta.dimension !== dimension || meta.store !== this.store.kind || held !== dimension;
      if (changed) {
        if (meta)
          this.log.info("embedding model or store changed; re-embedding memories in the background", {
            from: meta,
            to: { model: this.embedder.model, dimension, store: this.store.kind },
          });
        if (held !== null) await this.store.reset(dimension);
        else await this.store.open(dimension);
        this.db.update(memories).set({ embeddedWith: null }).run();
        this.writeMeta({ model: this.embedder.model, provider: this.embedder.provider, dimension, store: this.store.kind });
        this.reembedding = !!meta;
      } else {
        await this.store.open(dimension);
      }
      this.dimension = dimension;
      this.state = "ready";
      this.lastError = null;
      this.kick();
    } catch (err) {
      if (this.closed) return;
      this.state = "unavailable";
      this.lastError = (err as Error).message;
      this.log.warn("vector memory unavailable; answering from keywords", { error: this.lastError });
      this.later(() => this.start());
    }
  }

  private later(fn: () => Promise<void>): void {
    if (this.closed || this.timer) return;
    const wait = Math.max(RETRY_MS, this.embedder?.breaker.retryInMs() ?? 0);
    this.timer = setTimeout(() => {
      this.timer = null;
      void fn();
    }, wait);
    this.timer.unref?.();
  }

  pending(): number {
    if (!this.embedder) return 0;
    return this.db.select({ n: sql<number>`count(*)` }).from(memories).where(this.stale()).get()?.n ?? 0;
  }

  private stale() {
    return or(isNull(memories.embeddedWith), ne(memories.embeddedWith, this.embedder!.model));
  }

  /** Starts the background embedding of stale memories, if it is not running. */
  kick(): void {
    if (this.state !== "ready" || this.running || this.closed) return;
    this.running = this.drain().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when nothing is being embedded in the background. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    const embedder = this.embedder!;
    const store = this.store!;
    for (;;) {
      if (this.closed) return;
      const rows = this.db.select({ id: memories.id, text: memories.text, category: memories.category }).from(memories).where(this.stale()).limit(BATCH).all();
      if (!rows.length) break;
      try {
        const vectors = await embedder.embed(
          rows.map((r) => r.text),
          "document",
          this.abort.signal,
        );
        // A memory edited (and embedded) while this batch was at the provider keeps its newer vector.
        const current = new Map(
          this.db
            .select({ id: memories.id, text: memories.text, category: memories.category })
            .from(memories)
            .where(
              inArray(
                memories.id,
                rows.map((r) => r.id),
              ),
            )
            .all()
            .map((r) => [r.id, r]),
        );
        const fresh = rows.flatMap((r, i) => {
          const now = current.get(r.id);
          return now && now.text === r.text ? [{ id: r.id, vector: vectors[i]!, category: now.category as Category }] : [];
        });
        await store.upsert(fresh);
        const ids = fresh.map((r) => r.id);
        this.db.transaction((tx) => {
          for (const id of ids) tx.update(memories).set({ embeddedWith: embedder.model }).where(eq(memories.id, id)).run();
        });
      } catch (err) {
        if (this.closed) return;
        this.lastError = (err as Error).message;
        this.log.warn("background embedding paused", { error: this.lastError, pending: this.pending() });
        this.later(async () => this.kick());
        return;
      }
    }
    if (this.reembedding) this.log.info("re-embedding finished", { model: embedder.model });
    this.reembedding = false;
  }

  health() {
    return {
      state: this.state,
      store: this.store?.kind ?? "sqlite",
      dimension: this.dimension,
      embedder: this.embedder?.health() ?? null,
      reembedding: this.reembedding,
      pendingEmbeddings: this.pending(),
      lastError: this.lastError,
      storeError: this.storeError,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort(new Error("bakerst is shutting down"));
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.store?.close();
  }
}
