import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeApp } from "../helpers/app.ts";
import { startOpenAIEmbeddingsStandIn } from "../standins/openai-embeddings.ts";
import { startVoyageStandIn, type VoyageStandIn } from "../standins/voyage.ts";
import { type App, idle, memoryHealth, ready, search, store } from "./helpers.ts";

let voyage: VoyageStandIn;
let h: App;

const unit = (entries: Record<number, number>, dim = 1024) => {
  const v = new Array<number>(dim).fill(0);
  for (const [i, x] of Object.entries(entries)) v[Number(i)] = x;
  return v;
};

beforeAll(async () => {
  voyage = startVoyageStandIn({ apiKey: "vk-test" });
  h = await makeApp({ VOYAGE_API_KEY: "vk-test", VOYAGE_BASE_URL: voyage.baseURL });
  await ready(h);
});
afterAll(async () => {
  await h.close();
  await voyage.stop();
});

describe("Memory API with Voyage embeddings", () => {
  test("a stored memory is listed and found by meaning and keywords", async () => {
    const r = await store(h, "The owner runs Proxmox on three Intel NUCs in the homelab", "homelab");
    expect(r.status).toBe(200);
    expect(r.body.updated).toBe(false);
    const list = (await (await h.request("/api/memories?category=homelab")).json()) as any;
    expect(list.total).toBe(1);
    expect(list.memories[0]).toMatchObject({ id: r.body.id, category: "homelab", embedded: true, source: "owner" });
    const found = await search(h, "which Proxmox hosts run in the homelab");
    expect(found.mode).toBe("hybrid");
    expect(found.results[0]).toMatchObject({ id: r.body.id, category: "homelab" });
    expect(found.results[0]!.score).toBeGreaterThan(0.3);
    // Voyage was asked with the right input types.
    expect(voyage.book.calls.some((c) => c.inputType === "document" && c.texts[0]!.includes("Proxmox"))).toBe(true);
    expect(voyage.book.calls.some((c) => c.inputType === "query")).toBe(true);
  });

  test("dedup: cosine 0.919 inserts a new memory, 0.92 updates the existing one", async () => {
    const s = Math.sqrt;
    voyage.book.pin("dedup base fact", unit({ 0: 1 }));
    voyage.book.pin("dedup near fact", unit({ 0: 0.919, 1: s(1 - 0.919 ** 2) }));
    voyage.book.pin("dedup same fact", unit({ 0: 0.92, 2: s(1 - 0.92 ** 2) }));
    const base = await store(h, "dedup base fact", "work");
    const near = await store(h, "dedup near fact", "work");
    expect(near.body.updated).toBe(false);
    expect(near.body.id).not.toBe(base.body.id);
    const same = await store(h, "dedup same fact", "preferences");
    expect(same.body).toEqual({ id: base.body.id, updated: true });
    const list = (await (await h.request("/api/memories?limit=100")).json()) as any;
    const texts = list.memories.map((m: any) => m.text);
    expect(texts).toContain("dedup same fact");
    expect(texts).toContain("dedup near fact");
    expect(texts).not.toContain("dedup base fact");
    expect(list.memories.find((m: any) => m.id === base.body.id).category).toBe("preferences");
  });

  test("search drops vector hits under 0.3 and filters by category", async () => {
    await store(h, "Favourite keyboard is a Keychron Q1 with brown switches", "gear");
    expect((await search(h, "zebra quantum lighthouse")).results).toEqual([]);
    const gear = await search(h, "keychron keyboard switches", "&category=gear");
    expect(gear.results.map((r) => r.category)).toEqual(["gear"]);
    expect((await search(h, "keychron keyboard switches", "&category=work")).results).toEqual([]);
  });

  test("bad input is a 400 naming the field, and nothing is written", async () => {
    const before = ((await (await h.request("/api/memories")).json()) as any).total;
    const cases: [unknown, RegExp][] = [
      [{ text: "", category: "gear" }, /text/],
      [{ text: "   ", category: "gear" }, /text/],
      [{ text: "x".repeat(4001), category: "gear" }, /text/],
      [{ text: 5, category: "gear" }, /text/],
      [{ text: "fine", category: "hobbies" }, /category/],
      [{ text: "fine" }, /category/],
    ];
    for (const [json, field] of cases) {
      const res = await h.request("/api/memories", { method: "POST", json });
      expect(res.status).toBe(400);
      const body = (await res.json()) as any;
      expect(body.error.message).toMatch(field);
    }
    const badQuery = await h.request("/api/memories/search?q=x&category=nope");
    expect(badQuery.status).toBe(400);
    expect(((await badQuery.json()) as any).error.message).toMatch(/category/);
    expect(((await (await h.request("/api/memories")).json()) as any).total).toBe(before);
  });

  test("delete removes a memory from listing and search; an unknown id is a 404", async () => {
    const r = await store(h, "Temporary note about a dentist appointment on Friday", "personal");
    expect((await h.request(`/api/memories/${r.body.id}`, { method: "DELETE" })).status).toBe(200);
    expect((await search(h, "dentist appointment friday")).results.map((x) => x.id)).not.toContain(r.body.id);
    const missing = await h.request(`/api/memories/${r.body.id}`, { method: "DELETE" });
    expect(missing.status).toBe(404);
  });

  test("PATCH moves a memory to another category; vector search follows once it is re-embedded", async () => {
    const r = await store(h, "The owner's road bike is a steel Surly Straggler", "general");
    const moved = await h.request(`/api/memories/${r.body.id}`, { method: "PATCH", json: { category: "gear" } });
    expect(moved.status).toBe(200);
    expect(((await moved.json()) as any).category).toBe("gear");
    const gear = (await (await h.request("/api/memories?category=gear")).json()) as any;
    expect(gear.memories.map((m: any) => m.id)).toContain(r.body.id);
    await idle(h);
    const found = await search(h, "which bike does the owner ride", "&category=gear");
    expect(found.mode).toBe("hybrid");
    expect(found.results[0]?.id).toBe(r.body.id);
    const bad = await h.request(`/api/memories/${r.body.id}`, { method: "PATCH", json: { category: "bikes" } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toContain("category: expected one of gear");
    expect((await h.request("/api/memories/nope", { method: "PATCH", json: { category: "gear" } })).status).toBe(404);
  });

  test("the brain has memory_store, memory_search and memory_delete", async () => {
    const ctx = { conversationId: "c", turnId: "t", origin: "web" as const, signal: new AbortController().signal, emit: () => {} };
    const stored = await h.s.tools.execute("memory_store", { text: "The owner's cat is called Pixel", category: "personal" }, ctx);
    expect(stored.ok).toBe(true);
    const id = JSON.parse(stored.content).id;
    const found = await h.s.tools.execute("memory_search", { query: "cat called Pixel" }, ctx);
    expect(found.content).toContain(id);
    const bad = await h.s.tools.execute("memory_store", { text: "x", category: "pets" }, ctx);
    expect(bad.ok).toBe(false);
    expect(bad.content).toMatch(/category/);
    expect((await h.s.tools.execute("memory_delete", { id }, ctx)).ok).toBe(true);
    expect((await h.s.tools.execute("memory_delete", { id }, ctx)).ok).toBe(false);
  });

  test("a transient embedding failure is retried and the memory still gets its vector", async () => {
    voyage.failNext(1, 503);
    const r = await store(h, "The owner's e-reader is a Kobo Libra Colour", "gear");
    expect(r.status).toBe(200);
    const list = (await (await h.request("/api/memories?category=gear&limit=100")).json()) as any;
    expect(list.memories.find((m: any) => m.id === r.body.id).embedded).toBe(true);
    expect((await memoryHealth(h)).embedder.state).toBe("closed");
  });

  // Last: it leaves the embedder's circuit open.
  test("the embedder failing mid-run opens the circuit; memory keeps answering from keywords and health says so", async () => {
    voyage.down = true;
    const stored = [];
    for (const text of ["Owner prefers Arch Linux on laptops", "Owner prefers Debian on servers", "Owner prefers ZFS mirrors for storage"]) {
      const r = await store(h, text, "preferences");
      expect(r.status).toBe(200);
      stored.push(r.body.id);
    }
    const health = await memoryHealth(h);
    expect(health.status).toBe("degraded");
    expect(health.mode).toBe("keywords");
    expect(health.embedder.state).toBe("open");
    expect(health.pendingEmbeddings).toBe(3);
    const found = await search(h, "debian servers");
    expect(found.mode).toBe("keywords");
    expect(found.results[0]!.id).toBe(stored[1]);
    voyage.down = false;
  });
});

describe("Memory with an OpenAI-compatible embeddings server", () => {
  test("stores and searches with the server's vectors", async () => {
    const server = startOpenAIEmbeddingsStandIn({ "nomic-embed-text": 768 });
    const app = await makeApp({ EMBEDDINGS_BASE_URL: server.baseURL });
    try {
      await ready(app);
      expect((await memoryHealth(app)).dimension).toBe(768);
      const r = await store(app, "The NAS is a Synology DS920+ with four drives", "homelab");
      const found = await search(app, "synology nas drives");
      expect(found.mode).toBe("hybrid");
      expect(found.results[0]!.id).toBe(r.body.id);
      expect(server.book.calls.length).toBeGreaterThanOrEqual(3);
    } finally {
      await app.close();
      await server.stop();
    }
  });
});

describe("Memory with no embedder", () => {
  test("works on keywords alone and says so", async () => {
    const app = await makeApp({});
    try {
      const a = await store(app, "Owner's bike is a Brompton folding bike", "gear");
      const again = await store(app, "owner's bike is a  Brompton folding bike", "gear");
      expect(again.body).toEqual({ id: a.body.id, updated: true });
      const found = await search(app, "brompton");
      expect(found).toEqual({ mode: "keywords", results: [expect.objectContaining({ id: a.body.id, score: 1 })] as any });
      const health = await memoryHealth(app);
      expect(health).toMatchObject({ status: "ok", mode: "keywords", memories: 1 });
    } finally {
      await app.close();
    }
  });
});

describe("A changed embedding model", () => {
  test("is detected at start and re-embedded in the background while keywords keep answering", async () => {
    const first = await makeApp({ VOYAGE_API_KEY: "vk-test", VOYAGE_BASE_URL: voyage.baseURL, VOYAGE_MODEL: "voyage-3.5-lite" });
    await ready(first);
    const ids: string[] = [];
    for (let i = 0; i < 70; i++) ids.push((await store(first, `Rack unit ${i} holds switch model SW${i}`, "homelab")).body.id);
    expect((await memoryHealth(first)).dimension).toBe(1024);
    await first.close(false);

    voyage.book.calls = [];
    const second = await makeApp({ VOYAGE_API_KEY: "vk-test", VOYAGE_BASE_URL: voyage.baseURL, VOYAGE_MODEL: "voyage-3-lite" }, { dataDir: first.dataDir });
    try {
      const meanwhile = await search(second, "SW42");
      expect(meanwhile.results[0]!.id).toBe(ids[42]!);
      await idle(second);
      const health = await memoryHealth(second);
      expect(health).toMatchObject({ dimension: 512, pendingEmbeddings: 0, mode: "hybrid" });
      expect(health.embedder.model).toBe("voyage-3-lite");
      // 70 memories went in batches, all with the new model.
      const docs = voyage.book.calls.filter((c) => c.inputType === "document" && c.texts.length > 1);
      expect(docs.reduce((n, c) => n + c.texts.length, 0)).toBe(70);
      expect(docs.every((c) => c.model === "voyage-3-lite")).toBe(true);
      const after = await search(second, "rack unit 42 switch SW42");
      expect(after.mode).toBe("hybrid");
      expect(after.results[0]!.id).toBe(ids[42]!);
    } finally {
      await second.close();
    }
  }, 20_000);
});
