import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeApp } from "../helpers/app.ts";
import { type QdrantStandIn, startQdrantStandIn } from "../standins/qdrant.ts";
import { startVoyageStandIn, type VoyageStandIn } from "../standins/voyage.ts";
import { type App, idle, memoryHealth, ready, search, store } from "./helpers.ts";

let voyage: VoyageStandIn;
let qdrant: QdrantStandIn;
let sqliteApp: App;
let qdrantApp: App;

const FACTS: [string, string][] = [
  ["The owner's main workstation has a Ryzen 9 7950X and 64 GB of RAM", "gear"],
  ["The owner likes dark roast coffee, brewed in an AeroPress", "preferences"],
  ["Home Assistant runs in a VM on the Proxmox cluster", "homelab"],
  ["The owner's daughter is called Ada and is seven", "personal"],
  ["The owner works on payment systems in Go at a fintech", "work"],
  ["Backups go to a Hetzner storage box every night at 02:00", "homelab"],
  ["The owner prefers metric units and 24-hour time", "preferences"],
];
const QUERIES = ["coffee roast", "proxmox cluster home assistant", "what RAM does the workstation have", "nightly backups storage box", "Ada daughter"];

const headers = { "content-type": "application/x-ndjson" };

beforeAll(async () => {
  voyage = startVoyageStandIn();
  qdrant = startQdrantStandIn();
  sqliteApp = await makeApp({ VOYAGE_API_KEY: "vk", VOYAGE_BASE_URL: voyage.baseURL });
  qdrantApp = await makeApp({ VOYAGE_API_KEY: "vk", VOYAGE_BASE_URL: voyage.baseURL, QDRANT_URL: qdrant.url, QDRANT_COLLECTION: "memories_test" });
  await Promise.all([ready(sqliteApp), ready(qdrantApp)]);
});
afterAll(async () => {
  await sqliteApp.close();
  await qdrantApp.close();
  await qdrant.stop();
  await voyage.stop();
});

describe("Memory export and import", () => {
  test("Qdrant mode creates its collection with the model's size, cosine distance and a category index", () => {
    const c = qdrant.collections.get("memories_test")!;
    expect(c.size).toBe(1024);
    expect(c.distance).toBe("Cosine");
    expect(c.indexes).toEqual({ category: "keyword" });
  });

  test("export from SQLite then import into Qdrant gives the same search results", async () => {
    for (const [text, category] of FACTS) expect((await store(sqliteApp, text, category)).status).toBe(200);
    const exported = await sqliteApp.request("/api/memories/export");
    expect(exported.headers.get("content-type")).toContain("application/x-ndjson");
    const body = await exported.text();
    const lines = body.trim().split("\n");
    expect(lines).toHaveLength(FACTS.length);
    expect(JSON.parse(lines[0]!)).not.toHaveProperty("vector");

    const imported = await qdrantApp.request("/api/memories/import", { method: "POST", headers, body });
    expect(imported.status).toBe(200);
    expect(await imported.json()).toEqual({ imported: FACTS.length, replaced: 0, embedded: 0 });
    await idle(qdrantApp);
    expect(qdrant.collections.get("memories_test")!.points.size).toBe(FACTS.length);

    for (const q of QUERIES) {
      const a = await search(sqliteApp, q);
      const b = await search(qdrantApp, q);
      expect(a.mode).toBe("hybrid");
      expect(b.results.map((r) => [r.id, r.text, r.category])).toEqual(a.results.map((r) => [r.id, r.text, r.category]));
      b.results.forEach((r, i) => expect(r.score).toBeCloseTo(a.results[i]!.score, 3));
      expect(a.results.length).toBeGreaterThan(0);
    }
  });

  test("export with vectors from Qdrant imports into SQLite without embedding again", async () => {
    const body = await (await qdrantApp.request("/api/memories/export?vectors=true")).text();
    const first = JSON.parse(body.split("\n")[0]!);
    expect(first.model).toBe("voyage-3.5-lite");
    expect(first.vector).toHaveLength(1024);
    const fresh = await makeApp({ VOYAGE_API_KEY: "vk", VOYAGE_BASE_URL: voyage.baseURL });
    try {
      await ready(fresh);
      const calls = voyage.book.calls.length;
      const res = await fresh.request("/api/memories/import", { method: "POST", headers, body });
      expect(await res.json()).toEqual({ imported: FACTS.length, replaced: 0, embedded: FACTS.length });
      await idle(fresh);
      expect(voyage.book.calls.length).toBe(calls);
      for (const q of QUERIES) {
        const a = await search(qdrantApp, q);
        const b = await search(fresh, q);
        expect(b.results.map((r) => r.id)).toEqual(a.results.map((r) => r.id));
      }
    } finally {
      await fresh.close();
    }
  });

  test("a bad line rejects the whole import, naming the line and the field", async () => {
    const before = ((await (await qdrantApp.request("/api/memories")).json()) as any).total;
    const body = [JSON.stringify({ text: "A fine memory that must not be half-written", category: "general" }), JSON.stringify({ text: "Another", category: "hobbies" })].join(
      "\n",
    );
    const res = await qdrantApp.request("/api/memories/import", { method: "POST", headers, body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toMatch(/^line 2: category/);
    const notJson = await qdrantApp.request("/api/memories/import", { method: "POST", headers, body: "{oops" });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as any).error.message).toMatch(/^line 1: not valid JSON/);
    expect(((await (await qdrantApp.request("/api/memories")).json()) as any).total).toBe(before);
  });
});

describe("POST /api/memories/import", () => {
  test("wants JSON lines by content-type", async () => {
    const res = await sqliteApp.request("/api/memories/import", { method: "POST", json: { text: "x", category: "general" } });
    expect(res.status).toBe(415);
    expect(((await res.json()) as any).error.message).toMatch(/application\/x-ndjson/);
  });
});

describe("Qdrant going away mid-run", () => {
  test("stores keep the memory for later embedding and searches answer from keywords", async () => {
    const q = startQdrantStandIn();
    const app = await makeApp({ VOYAGE_API_KEY: "vk", VOYAGE_BASE_URL: voyage.baseURL, QDRANT_URL: q.url });
    try {
      await ready(app);
      const before = await store(app, "The owner's 3D printer is a Prusa MK4", "gear");
      await q.stop();
      const during = await store(app, "The owner's soldering iron is a Pinecil", "gear");
      expect(during.status).toBe(200);
      const list = (await (await app.request("/api/memories?category=gear")).json()) as any;
      expect(list.memories.find((m: any) => m.id === during.body.id).embedded).toBe(false);
      expect(list.memories.find((m: any) => m.id === before.body.id).embedded).toBe(true);
      const found = await search(app, "pinecil soldering");
      expect(found.mode).toBe("keywords");
      expect(found.results[0]!.id).toBe(during.body.id);
      const health = await memoryHealth(app);
      expect(health).toMatchObject({ status: "degraded", mode: "keywords", store: "qdrant" });
      expect(health.detail).toMatch(/vector store/);
      expect(health.pendingEmbeddings).toBe(1);
    } finally {
      await app.close();
    }
  });
});
