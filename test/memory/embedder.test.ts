import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { OpenAIEmbedder } from "../../core/memory/embed/openai.ts";
import { CircuitOpenError, ResilientEmbedder } from "../../core/memory/embed/resilient.ts";
import { VoyageEmbedder } from "../../core/memory/embed/voyage.ts";
import { cosine, EmbedError } from "../../core/memory/types.ts";
import { silentLogger } from "../../core/telemetry/log.ts";
import { waitFor } from "../helpers/nats.ts";
import { type OpenAIEmbeddingsStandIn, startOpenAIEmbeddingsStandIn } from "../standins/openai-embeddings.ts";
import { startVoyageStandIn, type VoyageStandIn } from "../standins/voyage.ts";

let voyage: VoyageStandIn;
let openai: OpenAIEmbeddingsStandIn;

beforeAll(() => {
  voyage = startVoyageStandIn({ apiKey: "vk" });
  openai = startOpenAIEmbeddingsStandIn({ "nomic-embed-text": 768 });
});
afterAll(async () => {
  await voyage.stop();
  await openai.stop();
});

describe("Embedder", () => {
  test("Voyage: batches of at most 128, vectors back in input order", async () => {
    const e = new ResilientEmbedder(new VoyageEmbedder({ apiKey: "vk", baseURL: voyage.baseURL, model: "voyage-3.5-lite" }), silentLogger);
    const texts = Array.from({ length: 300 }, (_, i) => `note number ${i} about topic ${i % 7}`);
    voyage.book.calls = [];
    const vectors = await e.embed(texts, "document");
    expect(vectors).toHaveLength(300);
    expect(voyage.book.calls.map((c) => c.texts.length)).toEqual([128, 128, 44]);
    expect(cosine(vectors[200]!, Float32Array.from(voyage.book.vector(texts[200]!, 1024)))).toBeCloseTo(1, 6);
  });

  test("Voyage: a wrong key is not retried and says why", async () => {
    const e = new ResilientEmbedder(new VoyageEmbedder({ apiKey: "wrong", baseURL: voyage.baseURL, model: "voyage-3.5-lite" }), silentLogger, { baseDelayMs: 1 });
    const err = await e.embed(["x"], "query").catch((x) => x);
    expect(err).toBeInstanceOf(EmbedError);
    expect(err.message).toMatch(/401/);
    expect(err.retryable).toBe(false);
  });

  test("OpenAI-compatible: base64 answers decode to the same vectors", async () => {
    const e = new OpenAIEmbedder({ baseURL: openai.baseURL, model: "nomic-embed-text" });
    const [v] = await e.embedBatch(["the homelab NAS"], "document");
    expect(openai.book.calls.at(-1)!.encoding).toBe("base64");
    expect(v!.length).toBe(768);
    expect(cosine(v!, Float32Array.from(openai.book.vector("the homelab NAS", 768)))).toBeCloseTo(1, 6);
    const missing = await new OpenAIEmbedder({ baseURL: openai.baseURL, model: "no-such-model" }).embedBatch(["x"], "query").catch((x) => x);
    expect(missing.message).toMatch(/404/);
  });

  test("the circuit opens after repeated failures, refuses without calling, and closes after a good trial", async () => {
    const e = new ResilientEmbedder(new VoyageEmbedder({ apiKey: "vk", baseURL: voyage.baseURL, model: "voyage-3.5-lite" }), silentLogger, {
      maxRetries: 1,
      baseDelayMs: 1,
      breakerThreshold: 2,
      breakerCooldownMs: 300,
    });
    voyage.down = true;
    try {
      for (let i = 0; i < 2; i++) await expect(e.embed(["a"], "query")).rejects.toThrow(/503/);
      expect(e.health().state).toBe("open");
      expect(e.available()).toBe(false);
      voyage.book.calls = [];
      await expect(e.embed(["a"], "query")).rejects.toBeInstanceOf(CircuitOpenError);
      expect(voyage.book.calls).toHaveLength(0);
    } finally {
      voyage.down = false;
    }
    // Past the cooldown the breaker lets a trial call through.
    await waitFor("the breaker's cooldown to pass", () => e.available(), 5_000);
    expect(await e.embed(["a"], "query")).toHaveLength(1);
    expect(e.health()).toMatchObject({ state: "closed", consecutiveFailures: 0, lastError: null });
  });
});
