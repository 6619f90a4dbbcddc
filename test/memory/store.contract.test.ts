import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { QdrantVectorStore } from "../../core/memory/store/qdrant.ts";
import { SqliteVectorStore } from "../../core/memory/store/sqlite.ts";
import type { Category, VectorStore } from "../../core/memory/types.ts";
import { tempDir } from "../helpers/app.ts";
import { type QdrantStandIn, startQdrantStandIn } from "../standins/qdrant.ts";

const v = (...xs: number[]) => Float32Array.from(xs);
const id = (n: number) => `0190a000-0000-7000-8000-${String(n).padStart(12, "0")}`;
/** A unit vector at `angle` radians from the x axis, in the x/y plane of 8 dimensions. */
const at = (angle: number) => v(Math.cos(angle), Math.sin(angle), 0, 0, 0, 0, 0, 0);
const pt = (n: number, vector: Float32Array, category: Category = "general") => ({ id: id(n), vector, category });

function randomUnit(dim: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  const n = Math.hypot(...out);
  return out.map((x) => x / n);
}

function contract(name: string, make: () => Promise<{ store: VectorStore; done: () => Promise<void> }>) {
  describe(`VectorStore contract: ${name}`, () => {
    let store: VectorStore;
    let done: () => Promise<void>;
    beforeAll(async () => {
      ({ store, done } = await make());
    });
    afterAll(async () => {
      await store.close();
      await done();
    });

    test("a new index has no dimension until opened, then holds that size", async () => {
      expect(await store.dimension()).toBeNull();
      await store.open(8);
      expect(await store.dimension()).toBe(8);
      await store.open(8);
      await expect(store.open(16)).rejects.toThrow(/8/);
    });

    test("upsert then search ranks by cosine, nearest first", async () => {
      await store.upsert([pt(1, at(0)), pt(2, at(0.5), "gear"), pt(3, at(1.2), "work")]);
      const hits = await store.search({ vector: at(0.1), limit: 10, threshold: -1 });
      expect(hits.map((h) => h.id)).toEqual([id(1), id(2), id(3)]);
      expect(hits[0]!.score).toBeCloseTo(Math.cos(0.1), 5);
      expect(hits[1]!.category).toBe("gear");
    });

    test("the threshold drops hits below it", async () => {
      const hits = await store.search({ vector: at(0), limit: 10, threshold: Math.cos(0.6) });
      expect(hits.map((h) => h.id)).toEqual([id(1), id(2)]);
    });

    test("a category filter returns only that category", async () => {
      const hits = await store.search({ vector: at(0), limit: 10, threshold: -1, category: "work" });
      expect(hits.map((h) => h.id)).toEqual([id(3)]);
    });

    test("upserting an existing id updates it instead of adding one", async () => {
      await store.upsert([pt(3, at(0.05), "gear")]);
      expect(await store.count()).toBe(3);
      expect(await store.count("gear")).toBe(2);
      expect(await store.count("work")).toBe(0);
      const hits = await store.search({ vector: at(0.05), limit: 1, threshold: 0.9 });
      expect(hits[0]).toMatchObject({ id: id(3), category: "gear" });
      expect(hits[0]!.score).toBeCloseTo(1, 5);
    });

    test("delete removes points, and deleting a missing id is harmless", async () => {
      await store.delete([id(2), id(99)]);
      expect(await store.count()).toBe(2);
      const hits = await store.search({ vector: at(0.5), limit: 10, threshold: -1 });
      expect(hits.map((h) => h.id)).not.toContain(id(2));
    });

    test("a vector of the wrong size is refused", async () => {
      await expect(store.upsert([{ id: id(7), vector: v(1, 0, 0), category: "general" }])).rejects.toThrow(/dim/);
      expect(await store.count()).toBe(2);
    });

    test("scroll pages through every point with its vector", async () => {
      await store.upsert([pt(4, at(2)), pt(5, at(2.5), "homelab"), pt(6, at(3))]);
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await store.scroll({ limit: 2, after });
        pages++;
        for (const p of page.points) {
          expect(p.vector.length).toBe(8);
          seen.push(p.id);
        }
        if (!page.next) break;
        after = page.next;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual([id(1), id(3), id(4), id(5), id(6)]);
      const homelab = await store.scroll({ limit: 10, category: "homelab" });
      expect(homelab.points.map((p) => p.id)).toEqual([id(5)]);
      expect(homelab.points[0]!.vector[0]).toBeCloseTo(Math.cos(2.5), 5);
    });

    test("reset drops every vector and takes a new size", async () => {
      await store.reset(64);
      expect(await store.dimension()).toBe(64);
      expect(await store.count()).toBe(0);
    });

    test("past a few thousand points the nearest one is still found with its exact score", async () => {
      const points = Array.from({ length: 2600 }, (_, i) => ({ id: id(1000 + i), vector: randomUnit(64, i + 1), category: (i % 2 ? "work" : "gear") as Category }));
      for (let i = 0; i < points.length; i += 500) await store.upsert(points.slice(i, i + 500));
      expect(await store.count()).toBe(2600);
      for (const n of [7, 1234, 2599]) {
        const hits = await store.search({ vector: points[n]!.vector, limit: 3, threshold: 0.3 });
        expect(hits[0]!.id).toBe(points[n]!.id);
        expect(hits[0]!.score).toBeCloseTo(1, 5);
      }
      const filtered = await store.search({ vector: points[1234]!.vector, limit: 3, threshold: -1, category: "gear" });
      expect(filtered[0]!.id).toBe(points[1234]!.id);
      expect(filtered.every((h) => h.category === "gear")).toBe(true);
    });
  });
}

contract("SQLite + sqlite-vec", async () => {
  const dir = tempDir();
  const db = new Database(join(dir, "bakerst.db"), { create: true, strict: true });
  db.exec("PRAGMA journal_mode = WAL");
  return {
    store: new SqliteVectorStore(db),
    done: async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

let qdrant: QdrantStandIn;
contract("Qdrant", async () => {
  qdrant = startQdrantStandIn({ apiKey: "qk" });
  return { store: new QdrantVectorStore({ url: qdrant.url, apiKey: "qk", collection: "contract" }), done: () => qdrant.stop() };
});

describe("Qdrant stand-in", () => {
  test("rejects malformed requests the way Qdrant does", async () => {
    const q = startQdrantStandIn();
    try {
      const put = (path: string, body: unknown) => fetch(`${q.url}${path}`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      expect((await put("/collections/c", { vectors: { size: 4, distance: "Cosine" } })).status).toBe(200);
      const bad = await put("/collections/c/points?wait=true", { points: [{ id: "not-a-uuid", vector: [1, 0, 0, 0] }] });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { status: { error: string } }).status.error).toMatch(/not a valid point ID/);
      const dim = await put("/collections/c/points?wait=true", { points: [{ id: 1, vector: [1, 0, 0] }] });
      expect(dim.status).toBe(400);
      expect(((await dim.json()) as { status: { error: string } }).status.error).toBe("Wrong input: Vector dimension error: expected dim: 4, got 3");
      const missing = await fetch(`${q.url}/collections/nope`);
      expect(missing.status).toBe(404);
    } finally {
      await q.stop();
    }
  });
});
