import { QdrantClient } from "@qdrant/js-client-rest";
import { type Category, isCategory, SCORE_EPSILON, type VectorHit, type VectorPoint, type VectorSearch, type VectorStore } from "../types.ts";

export interface QdrantOptions {
  url: string;
  apiKey?: string;
  collection: string;
  timeoutMs?: number;
}

/** Qdrant answers `{ status: { error } }`; the client wraps it, so dig the server's words out. */
function explain(err: unknown): Error {
  const e = err as { status?: number; data?: { status?: { error?: string } }; message?: string };
  const reason = e?.data?.status?.error ?? e?.message ?? String(err);
  return new Error(`qdrant${e?.status ? ` ${e.status}` : ""}: ${reason}`);
}

const filterFor = (category?: Category) => (category ? { must: [{ key: "category", match: { value: category } }] } : undefined);

/**
 * Memory vectors in one Qdrant collection: cosine distance, one unnamed vector
 * per point (id = the memory's UUID), `category` in the payload with a keyword
 * index so filtered searches stay fast.
 */
export class QdrantVectorStore implements VectorStore {
  readonly kind = "qdrant" as const;
  private client: QdrantClient;
  private size: number | null = null;

  constructor(private opts: QdrantOptions) {
    this.client = new QdrantClient({ url: opts.url, apiKey: opts.apiKey, timeout: opts.timeoutMs ?? 30_000 });
  }

  private async call<T>(fn: (c: QdrantClient) => Promise<T>): Promise<T> {
    try {
      return await fn(this.client);
    } catch (err) {
      throw explain(err);
    }
  }

  async dimension(): Promise<number | null> {
    const name = this.opts.collection;
    const { exists } = await this.call((c) => c.collectionExists(name));
    if (!exists) return (this.size = null);
    const info = await this.call((c) => c.getCollection(name));
    const vectors = info.config.params.vectors as { size?: number } | undefined;
    this.size = typeof vectors?.size === "number" ? vectors.size : null;
    return this.size;
  }

  async open(dimension: number): Promise<void> {
    const current = await this.dimension();
    if (current === dimension) return;
    if (current !== null) throw new Error(`qdrant collection ${this.opts.collection} holds ${current}-dimension vectors, not ${dimension}; reset it first`);
    await this.create(dimension);
  }

  private async create(dimension: number): Promise<void> {
    const name = this.opts.collection;
    await this.call((c) => c.createCollection(name, { vectors: { size: dimension, distance: "Cosine" } }));
    await this.call((c) => c.createPayloadIndex(name, { field_name: "category", field_schema: "keyword", wait: true }));
    this.size = dimension;
  }

  async reset(dimension: number): Promise<void> {
    const name = this.opts.collection;
    const { exists } = await this.call((c) => c.collectionExists(name));
    if (exists) await this.call((c) => c.deleteCollection(name));
    this.size = null;
    await this.create(dimension);
  }

  async upsert(points: VectorPoint[]): Promise<void> {
    if (!points.length) return;
    for (const p of points) {
      if (this.size !== null && p.vector.length !== this.size) throw new Error(`vector has ${p.vector.length} dimensions, the collection holds ${this.size}`);
    }
    await this.call((c) =>
      c.upsert(this.opts.collection, {
        wait: true,
        points: points.map((p) => ({ id: p.id, vector: Array.from(p.vector), payload: { category: p.category } })),
      }),
    );
  }

  async delete(ids: string[]): Promise<void> {
    if (!ids.length) return;
    await this.call((c) => c.delete(this.opts.collection, { wait: true, points: ids }));
  }

  async search(q: VectorSearch): Promise<VectorHit[]> {
    if (this.size === null) return [];
    const res = await this.call((c) =>
      c.query(this.opts.collection, {
        query: Array.from(q.vector),
        limit: q.limit,
        score_threshold: q.threshold - SCORE_EPSILON,
        filter: filterFor(q.category),
        with_payload: ["category"],
      }),
    );
    return res.points.flatMap((p) => {
      const category = p.payload?.category;
      return isCategory(category) ? [{ id: String(p.id), category, score: p.score }] : [];
    });
  }

  async count(category?: Category): Promise<number> {
    if (this.size === null) return 0;
    const res = await this.call((c) => c.count(this.opts.collection, { exact: true, filter: filterFor(category) }));
    return res.count;
  }

  async scroll(opts: { limit: number; after?: string; category?: Category }) {
    if (this.size === null) return { points: [], next: null };
    const res = await this.call((c) =>
      c.scroll(this.opts.collection, {
        limit: opts.limit,
        ...(opts.after ? { offset: opts.after } : {}),
        filter: filterFor(opts.category),
        with_payload: ["category"],
        with_vector: true,
      }),
    );
    const points = res.points.flatMap((p) => {
      const category = p.payload?.category;
      const vector = p.vector;
      if (!isCategory(category) || !Array.isArray(vector) || typeof vector[0] !== "number") return [];
      return [{ id: String(p.id), category, vector: Float32Array.from(vector as number[]) }];
    });
    const next = res.next_page_offset;
    return { points, next: next === null || next === undefined ? null : String(next) };
  }

  async close(): Promise<void> {}
}
