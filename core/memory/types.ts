export const CATEGORIES = ["gear", "preferences", "homelab", "personal", "work", "general"] as const;
export type Category = (typeof CATEGORIES)[number];

export const isCategory = (v: unknown): v is Category => typeof v === "string" && (CATEGORIES as readonly string[]).includes(v);

/** Cosine at or above this updates the existing memory instead of adding one. */
export const DEDUP_THRESHOLD = 0.92;
/** Vector hits below this cosine are not relevant enough to return. */
export const SEARCH_THRESHOLD = 0.3;
export const MAX_TEXT_CHARS = 4000;
/**
 * Vectors are float32, so a cosine built to be exactly 0.92 may come back as
 * 0.91999996; thresholds are compared with this much slack (far below 0.001).
 */
export const SCORE_EPSILON = 1e-6;

export interface VectorPoint {
  id: string;
  vector: Float32Array;
  category: Category;
}

export interface VectorHit {
  id: string;
  category: Category;
  /** Cosine similarity, -1..1. */
  score: number;
}

export interface VectorSearch {
  vector: Float32Array;
  limit: number;
  /** Lowest cosine returned. */
  threshold: number;
  category?: Category;
}

/**
 * Where memory vectors live: SQLite (sqlite-vec) on the edge, Qdrant at scale.
 * Texts stay in the core's SQLite database either way; a store only answers
 * "which ids are near this vector". One contract suite runs against both.
 */
export interface VectorStore {
  readonly kind: "sqlite" | "qdrant";
  /** Creates the index for vectors of this size if missing; returns the size it holds now (null when none). */
  open(dimension: number): Promise<void>;
  /** Current vector size of the index, or null when it does not exist yet. */
  dimension(): Promise<number | null>;
  /** Drops every vector and recreates the index for a new size (a changed embedding model). */
  reset(dimension: number): Promise<void>;
  upsert(points: VectorPoint[]): Promise<void>;
  delete(ids: string[]): Promise<void>;
  search(q: VectorSearch): Promise<VectorHit[]>;
  count(category?: Category): Promise<number>;
  /** Pages through every point in id order; `after` is the last id of the previous page. */
  scroll(opts: { limit: number; after?: string; category?: Category }): Promise<{ points: VectorPoint[]; next: string | null }>;
  close(): Promise<void>;
}

export type InputKind = "document" | "query";

export interface Embedder {
  readonly provider: "voyage" | "openai";
  readonly model: string;
  /** One call for at most `maxBatch` texts; throws EmbedError on failure. */
  embedBatch(texts: string[], kind: InputKind, signal?: AbortSignal): Promise<Float32Array[]>;
  readonly maxBatch: number;
}

export class EmbedError extends Error {
  override name = "EmbedError";
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

export const cosine = (a: Float32Array, b: Float32Array): number => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
};
