import type { Database } from "bun:sqlite";
import { type Category, SCORE_EPSILON, type VectorHit, type VectorPoint, type VectorSearch, type VectorStore } from "../types.ts";
import { loadVec } from "./vec-extension.ts";

/** Up to this many vectors a search compares every one exactly; above it, binary codes pick the candidates first. */
const EXACT_UP_TO = 1_000;
/**
 * Candidates the binary pass hands to the exact rescoring, per result asked for.
 * vec0 keeps its k nearest with a cost that grows with k (about 0.25 ms per k at 100k
 * vectors here, k = 800 cost 10x k = 100), so k stays small; exact rescoring fixes the order.
 */
const OVERSAMPLE = 2;
const MIN_CANDIDATES = 20;
/** Reading float vectors through mmap instead of read() made rescoring 4x faster (scripts/bench/memory.ts). */
const MMAP_BYTES = 256 * 1024 * 1024;
/** sqlite-vec's ceiling for k. */
const MAX_K = 4096;

const toVector = (blob: Uint8Array): Float32Array => {
  const copy = new Uint8Array(blob.byteLength);
  copy.set(blob);
  return new Float32Array(copy.buffer);
};

/**
 * Vectors in the core's SQLite file. Full float32 vectors sit in a plain table;
 * sqlite-vec keeps a 1-bit-per-dimension code of each in a vec0 index,
 * partitioned by category so a filtered search scans only its category. A search
 * takes the nearest codes by Hamming distance (a fast scan), then ranks those
 * candidates by exact cosine on the float vectors, so scores and thresholds are
 * exact. vec0's own float32 scan was 5-10x slower at 10k x 1024 on this hardware;
 * small stores skip the binary pass and compare every vector exactly.
 */
export class SqliteVectorStore implements VectorStore {
  readonly kind = "sqlite" as const;
  private size: number | null = null;
  private counted = new Map<string, number>();

  constructor(private db: Database) {
    loadVec(db);
    db.exec(`PRAGMA mmap_size = ${MMAP_BYTES}`);
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
      this.db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS memory_vec USING vec0(memory_id TEXT PRIMARY KEY, category TEXT PARTITION KEY, code bit[${codeBits(dimension)}])`);
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
    this.counted.clear();
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
    const insVec = this.db.prepare(`INSERT INTO memory_vec (memory_id, category, code) VALUES (?, ?, ${code})`);
    const put = this.db.prepare("INSERT OR REPLACE INTO memory_vectors (memory_id, category, vector) VALUES (?, ?, ?)");
    this.db.transaction(() => {
      for (const p of points) {
        delVec.run(p.id);
        insVec.run(p.id, p.category, p.vector);
        put.run(p.id, p.category, p.vector);
      }
    })();
    this.counted.clear();
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
    this.counted.clear();
  }

  async search(q: VectorSearch): Promise<VectorHit[]> {
    if (this.size === null) return [];
    const size = this.requireSize(q.vector);
    const args: (Float32Array | string | number)[] = [q.vector];
    let where: string;
    if (this.countOf(q.category) <= EXACT_UP_TO) {
      where = q.category ? "category = ?" : "1";
      if (q.category) args.push(q.category);
    } else {
      const bits = codeBits(size);
      const code = bits === size ? "vec_quantize_binary(?)" : `vec_quantize_binary(vec_slice(?, 0, ${bits}))`;
      const k = Math.min(MAX_K, Math.max(MIN_CANDIDATES, q.limit * OVERSAMPLE));
      where = `memory_id IN (SELECT memory_id FROM memory_vec WHERE code MATCH ${code} AND k = ? ${q.category ? "AND category = ?" : ""})`;
      args.push(q.vector, k, ...(q.category ? [q.category] : []));
    }
    args.push(q.limit);
    const rows = this.db
      .query(`SELECT memory_id AS id, category, 1 - vec_distance_cosine(vector, ?) AS score FROM memory_vectors WHERE ${where} ORDER BY score DESC LIMIT ?`)
      .all(...args) as VectorHit[];
    return rows.filter((r) => r.score + SCORE_EPSILON >= q.threshold);
  }

  /** Counts are asked on every search; they change only on writes, which clear this. */
  private countOf(category?: Category): number {
    const key = category ?? "";
    let n = this.counted.get(key);
    if (n === undefined) {
      n = category
        ? (this.db.query("SELECT count(*) AS n FROM memory_vectors WHERE category = ?").get(category) as { n: number }).n
        : (this.db.query("SELECT count(*) AS n FROM memory_vectors").get() as { n: number }).n;
      this.counted.set(key, n);
    }
    return n;
  }

  async count(category?: Category): Promise<number> {
    return this.countOf(category);
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
