/**
 * `bun scripts/bench/memory.ts [--max 100000]`: the embedded memory store at
 * 10,000 and 100,000 memories of 1,024 dimensions (precomputed vectors, no
 * embedder): insert throughput, vector search p50/p99 (all and by category),
 * keyword search p50/p99, hit rate, and process RSS. Prints a markdown table.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openStore } from "../../core/db/client.ts";
import { KeywordIndex } from "../../core/memory/keywords.ts";
import { memories } from "../../core/memory/memory.sql.ts";
import { SqliteVectorStore } from "../../core/memory/store/sqlite.ts";
import { CATEGORIES, type Category, SEARCH_THRESHOLD } from "../../core/memory/types.ts";

const { values } = parseArgs({ options: { max: { type: "string", default: "100000" }, queries: { type: "string", default: "300" } } });
const DIM = 1024;
const SIZES = [10_000, 100_000].filter((n) => n <= Number(values.max));
const QUERIES = Number(values.queries);
const WORDS =
  "proxmox nas router switch coffee roast keyboard laptop drone camera backup kubernetes talos zfs raid ups battery bike garden kid school meeting deadline golang rust python invoice tax holiday flight hotel dentist".split(
    " ",
  );

let seed = 42;
const rand = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
function unit(): Float32Array {
  const v = new Float32Array(DIM);
  let n = 0;
  for (let i = 0; i < DIM; i++) {
    // Sum of uniforms: close enough to Gaussian for direction sampling.
    const x = rand() + rand() + rand() - 1.5;
    v[i] = x;
    n += x * x;
  }
  n = Math.sqrt(n);
  for (let i = 0; i < DIM; i++) v[i]! /= n;
  return v;
}
/** A query near a stored vector: cosine about 0.8 with it. */
function near(v: Float32Array): Float32Array {
  const noise = unit();
  const q = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) q[i] = v[i]! + 0.75 * noise[i]!;
  return q;
}
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (n: number) => n.toFixed(n < 10 ? 2 : 1);

const dir = mkdtempSync(join(tmpdir(), "bakerst-bench-memory-"));
const store = openStore(dir);
const vectors = new SqliteVectorStore(store.sqlite);
const keywords = new KeywordIndex(store.sqlite);
await vectors.reset(DIM);

const sample: Float32Array[] = [];
const sampleIds: string[] = [];
const rows: string[] = [];
let inserted = 0;
let insertMs = 0;

for (const size of SIZES) {
  const t0 = performance.now();
  while (inserted < size) {
    const n = Math.min(1000, size - inserted);
    const batch = Array.from({ length: n }, (_, i) => {
      const id = Bun.randomUUIDv7();
      const category = CATEGORIES[(inserted + i) % CATEGORIES.length] as Category;
      return { id, vector: unit(), category };
    });
    const now = Date.now();
    store.db.transaction((tx) => {
      for (const p of batch) {
        const text = `Memory ${p.id.slice(-6)} about ${Array.from({ length: 6 }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(" ")}`;
        tx.insert(memories).values({ id: p.id, text, category: p.category, source: "import", embeddedWith: "bench", createdAt: now, updatedAt: now }).run();
      }
    });
    await vectors.upsert(batch);
    for (const p of batch) {
      if (sample.length < QUERIES && rand() < 0.05) {
        sample.push(p.vector);
        sampleIds.push(p.id);
      }
    }
    inserted += n;
  }
  insertMs += performance.now() - t0;

  const queries = sample.map(near);
  for (let i = 0; i < 10; i++) await vectors.search({ vector: queries[i % queries.length]!, limit: 10, threshold: SEARCH_THRESHOLD });
  const all: number[] = [];
  let hits = 0;
  for (let i = 0; i < queries.length; i++) {
    const t = performance.now();
    const res = await vectors.search({ vector: queries[i]!, limit: 10, threshold: SEARCH_THRESHOLD });
    all.push(performance.now() - t);
    if (res[0]?.id === sampleIds[i]) hits++;
  }
  const byCat: number[] = [];
  for (let i = 0; i < queries.length; i++) {
    const t = performance.now();
    await vectors.search({ vector: queries[i]!, limit: 10, threshold: SEARCH_THRESHOLD, category: CATEGORIES[i % CATEGORIES.length] });
    byCat.push(performance.now() - t);
  }
  // Keyword queries: a distinctive word (one memory's tag) with a common one, and two common words only.
  const tags = store.sqlite.query("SELECT text FROM memories ORDER BY random() LIMIT ?").all(queries.length) as { text: string }[];
  const kw: number[] = [];
  const kwCommon: number[] = [];
  for (let i = 0; i < queries.length; i++) {
    let t = performance.now();
    keywords.search(`${tags[i]!.text.split(" ")[1]} ${WORDS[i % WORDS.length]}`, { limit: 20 });
    kw.push(performance.now() - t);
    t = performance.now();
    keywords.search(`${WORDS[i % WORDS.length]} ${WORDS[(i * 7 + 3) % WORDS.length]}`, { limit: 20 });
    kwCommon.push(performance.now() - t);
  }
  const rss = process.memoryUsage().rss / 1e6;
  rows.push(
    `| ${size.toLocaleString("en")} | ${Math.round(inserted / (insertMs / 1000)).toLocaleString("en")} | ${ms(pct(all, 50))} / ${ms(pct(all, 99))} | ${ms(pct(byCat, 50))} / ${ms(pct(byCat, 99))} | ${ms(pct(kw, 50))} / ${ms(pct(kw, 99))} | ${ms(pct(kwCommon, 50))} / ${ms(pct(kwCommon, 99))} | ${((hits / queries.length) * 100).toFixed(1)}% | ${Math.round(rss)} MB |`,
  );
  console.error(`done ${size}`);
}

console.log(
  `Embedded memory store (SQLite + sqlite-vec ${String((store.sqlite.query("select vec_version() v").get() as { v: string }).v)}), ${DIM} dimensions, ${QUERIES} queries per size, limit 10, threshold ${SEARCH_THRESHOLD}, Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores\n`,
);
console.log(
  "| memories | insert (memories/s, cumulative) | vector search p50 / p99 (ms) | by category p50 / p99 (ms) | keyword search p50 / p99 (ms) | keyword, common words only (ms) | nearest found first | process RSS |",
);
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows) console.log(r);
console.log(
  '\nVector queries are stored vectors plus noise (cosine about 0.8 to their source); "nearest found first" is how often that source came back as the top hit. ' +
    "Each synthetic memory has six of 30 common words (each word is in about a fifth of all memories) and one distinctive tag. " +
    "Keyword queries pair a tag with a common word; the last keyword column uses two common words only, the slow case (with vectors available the search skips such words).",
);
store.close();
rmSync(dir, { recursive: true, force: true });
