import type { Database } from "bun:sqlite";
import { SCORE_EPSILON, type Category, type VectorHit, type VectorPoint, type VectorSearch, type VectorStore } from "../types.ts";
import { loadVec } from "./vec-extension.ts";

/** Up to this many vectors a search compares every one exactly; above it, binary codes pick the candidates first. */
const EXACT_UP_TO = 2_000;
/** Candidates the binary pass hands to the exact rescoring, per result asked for. */
const OVERSAMPLE = 12;
const MIN_CANDIDATES = 200;
/** sqlite-vec's ceiling for k. */
const MAX_K = 4096;

const toVector = (blob: Uint8Array): Float32Array => {
  const copy = new Uint8Array(blob.byteLength);
  copy.set(blob);
  return new Float32Array(copy.buffer);
};

/**
 * Vectors in the core's SQLite file. Full float32 vectors sit in a plain table;
 * sqlite-vec keeps a 1-bit-per-dimension code of each in a vec0 index. A search
 * takes the nearest codes by Hamming distance (a fast scan), then ranks those
 * candidates by exact cosine on the float vectors, so scores and thresholds are exact.
 * The vec0 brute-force scan over float32 at 100k x 1024 was several times slower
 * on this hardware (see scripts/bench/memory.ts).
 */
export class SqliteVectorStore implements VectorStore {
  readonly kind = "sqlite" as const;
  private size: number | null = null;
  private counted: number | null = null;

  constructor(private db: Database) {
    loadVec(db);
    db.exec(`CREATE TABLE IF NOT EXISTS memory_vectors (
      memory_id TEXT PRIMARY KEY NOT NULL,
      category TEXT NOT NULL,
      vector BLOB NOT NULL
    )`);
    db.exec("CREATE INDEX IF NOT EXISTS memory_vectors_category_idx ON memory_vectors (category)");
    db.exec("CREATE TABLE IF NOT EXISTS memory_vector_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)");
  }

  async dimension(): Promise<number | null> {
    if (this.size !== null) return this.size;
    const row = this.db.query("SELECT value FROM memory_vector_meta WHERE key = 'dimension'").get() as { value: string } | null;
    const exists = this.db.query("SELECT 1 FROM sqlite_master WHERE name = 'memory_vec'").get();
    this.size = row && exists ? Number(row.value) : null;
    return this.size;
  }

  async open(dimension: number): Promise<void> {
    const current = await this.dimension();
    if (current === dimension) return;
    if (current !== null) throw new Error(`the vector index holds ${current}-dimension vectors, not ${dimension}; reset it first`);
    this.create(dimension);
  }

  private create(dimension: number): void {
    if (!Number.isInteger(dimension) || dimension < 8 || dimension > 16_384) throw new Error(`vector dimension ${dimension} is out of range 8..16384`);
    this.db.transaction(() => {
      this.db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS memory_vec USING vec0(memory_id TEXT PRIMARY KEY, code bit[${codeBits(dimension)}])`);
      this.db.query("INSERT OR REPLACE INTO memory_vector_meta (key, value) VALUES ('dimension', ?)").run(String(dimension));
    })();
    this.size = dimension;
  }

  async reset(dimension: number): Promise<void> {
    this.db.transaction(() => {
      this.db.exec("DROP TABLE IF EXISTS memory_vec");
      this.db.exec("DELETE FROM memory_vectors");
      this.db.exec("DELETE FROM memory_vector_meta");
    })();
    this.size = null;
    this.counted = null;
    this.create(dimension);
  }

  private requireSize(vector: Float32Array): number {
    if (this.size === null) throw new Error("the vector index is not open");
    if (vector.length !== this.size) throw new Error(`vector has ${vector.length} dimensions, the index holds ${this.size}`);
    return this.size;
  }

  async upsert(points: VectorPoint[]): Promise<void> {
    if (!points.length) return;
    for (const p of points) this.requireSize(p.vector);
    const bits = codeBits(this.size!);
    const code = bits === this.size ? "vec_quantize_binary(?)" : `vec_quantize_binary(vec_slice(?, 0, ${bits}))`;
    const delVec = this.db.prepare("DELETE FROM memory_vec WHERE memory_id = ?");
    const insVec = this.db.prepare(`INSERT INTO memory_vec (memory_id, code) VALUES (?, ${code})`);
    const put = this.db.prepare("INSERT OR REPLACE INTO memory_vectors (memory_id, category, vector) VALUES (?, ?, ?)");
    this.db.transaction(() => {
      for (const p of points) {
        delVec.run(p.id);
        insVec.run(p.id, p.vector);
        put.run(p.id, p.category, p.vector);
      }
    })();
    this.counted = null;
  }

  async delete(ids: string[]): Promise<void> {
    if (!ids.length || this.size === null) return;
    const delVec = this.db.prepare("DELETE FROM memory_vec WHERE memory_id = ?");
    const del = this.db.prepare("DELETE FROM memory_vectors WHERE memory_id = ?");
    this.db.transaction(() => {
      for (const id of ids) {
        delVec.run(id);
        del.run(id);
      }
    })();
    this.counted = null;
  }

  async search(q: VectorSearch): Promise<VectorHit[]> {
    if (this.size === null) return [];
    const size = this.requireSize(q.vector);
    const total = this.total();
    const byCategory = q.category ? "AND category = ?" : "";
    const args: (Float32Array | string | number)[] = [q.vector];
    let candidates = "";
    if (total > EXACT_UP_TO) {
      const bits = codeBits(size);
      const code = bits === size ? "vec_quantize_binary(?)" : `vec_quantize_binary(vec_slice(?, 0, ${bits}))`;
      // A category filter discards most candidates, so ask for more of them.
      const k = Math.min(MAX_K, Math.max(MIN_CANDIDATES, q.limit * OVERSAMPLE) * (q.category ? 4 : 1));
      candidates = `AND memory_id IN (SELECT memory_id FROM memory_vec WHERE code MATCH ${code} AND k = ?)`;
      args.push(q.vector, k);
    }
    if (q.category) args.push(q.category);
    args.push(q.limit);
    const rows = this.db
      .query(
        `SELECT memory_id AS id, category, 1 - vec_distance_cosine(vector, ?) AS score FROM memory_vectors
         WHERE 1 ${candidates} ${byCategory} ORDER BY score DESC LIMIT ?`,
      )
      .all(...args) as VectorHit[];
    return rows.filter((r) => r.score + SCORE_EPSILON >= q.threshold);
  }

  private total(): number {
    this.counted ??= (this.db.query("SELECT count(*) AS n FROM memory_vectors").get() as { n: number }).n;
    return this.counted;
  }

  async count(category?: Category): Promise<number> {
    if (!category) return this.total();
    return (this.db.query("SELECT count(*) AS n FROM memory_vectors WHERE category = ?").get(category) as { n: number }).n;
  }

  async scroll(opts: { limit: number; after?: string; category?: Category }) {
    const rows = this.db
      .query(
        `SELECT memory_id AS id, category, vector FROM memory_vectors WHERE memory_id >= ? ${opts.category ? "AND category = ?" : ""}
         ORDER BY memory_id LIMIT ?`,
      )
      .all(...([opts.after ?? "", ...(opts.category ? [opts.category] : []), opts.limit + 1] as string[])) as { id: string; category: Category; vector: Uint8Array }[];
    const next = rows.length > opts.limit ? rows.pop()!.id : null;
    return { points: rows.map((r) => ({ id: r.id, category: r.category, vector: toVector(r.vector) })), next };
  }

  async close(): Promise<void> {}
}

/** vec_quantize_binary needs a multiple of 8; the last few dimensions of an odd size only miss the coarse pass. */
const codeBits = (dimension: number) => dimension - (dimension % 8);
