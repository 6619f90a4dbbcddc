import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { AnthropicProvider } from "../../core/agent/providers/anthropic.ts";
import { OpenAIProvider } from "../../core/agent/providers/openai.ts";
import { ModelRouter, type RoutedEvent } from "../../core/agent/router.ts";
import { openStore, type Store } from "../../core/db/client.ts";
import { DEFAULT_PRICES } from "../../core/models/prices.ts";
import { UsageLedger } from "../../core/models/usage.ts";
import { tempDir } from "../helpers/app.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { type OpenAIStandIn, render, startOpenAIStandIn } from "../standins/openai.ts";
import { httpError, model, reply } from "../standins/script.ts";

let claude: AnthropicStandIn;
let local: OpenAIStandIn;
let store: Store;

beforeAll(() => {
  claude = startAnthropicStandIn();
  local = startOpenAIStandIn();
  store = openStore(tempDir());
});
const ledgers: UsageLedger[] = [];
afterAll(async () => {
  await claude.stop();
  await local.stop();
  for (const l of ledgers) l.flush();
  store.close();
});
afterEach(() => {
  claude.checkAndReset();
  local.checkAndReset();
});
// The chain's two models: each scripted reply names the model it answers.
const sonnet = model("claude-sonnet-5-5");
const llama = model("llama3.1:8b");

function router(chain: string[], opts: { budget?: number; threshold?: number } = {}) {
  const sleeps: number[] = [];
  const ledger = new UsageLedger(
    store.db,
    () => DEFAULT_PRICES,
    () => opts.budget,
  );
  ledgers.push(ledger);
  const r = new ModelRouter({
    providers: {
      anthropic: new AnthropicProvider({ apiKey: "sk-test", baseURL: claude.url, timeoutMs: 10_000 }),
      openai: new OpenAIProvider({ baseURL: local.url, timeoutMs: 10_000 }),
    },
    chain: () => chain,
    usage: ledger,
    retry: { maxRetries: 2 },
    breaker: { threshold: opts.threshold ?? 5, cooldownMs: 60_000 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
  });
  return { r, sleeps, ledger };
}

async function collect(it: AsyncIterable<RoutedEvent>) {
  const events: RoutedEvent[] = [];
  try {
    for await (const ev of it) events.push(ev);
    return { events, error: undefined as undefined | (Error & { code?: string }) };
  } catch (error) {
    return { events, error: error as Error & { code?: string } };
  }
}

const req = { system: "be brief", messages: [{ role: "user" as const, content: [{ type: "text" as const, text: "hi" }] }], maxTokens: 100 };

describe("ModelRouter.stream", () => {
  test("retries a 429, waiting what retry-after asks", async () => {
    claude.on(sonnet, httpError(429, { headers: { "retry-after": "2" } }), reply().text("ok"));
    const { r, sleeps } = router(["anthropic:claude-sonnet-5-5"]);
    const { events, error } = await collect(r.stream(req, { role: "agent" }));
    expect(error).toBeUndefined();
    expect(claude.requests.length).toBe(2);
    expect(sleeps).toEqual([2000 + 50]);
    expect(
      events
        .filter((e) => e.type === "text")
        .map((e) => (e as { delta: string }).delta)
        .join(""),
    ).toBe("ok");
    expect(events[0]).toEqual({ type: "model", ref: "anthropic:claude-sonnet-5-5", attempt: 1 });
  });

  test("backs off exponentially with jitter on 529 overloaded and 5xx", async () => {
    claude.on(sonnet, httpError(529), httpError(500), reply().text("finally"));
    const { r, sleeps } = router(["anthropic:claude-sonnet-5-5"]);
    const { error } = await collect(r.stream(req, { role: "agent" }));
    expect(error).toBeUndefined();
    // base 500 ms: attempt 0 in [250, 500], attempt 1 in [500, 1000]; random() = 0.5 puts each at 3/4.
    expect(sleeps).toEqual([375, 750]);
  });

  test("does not retry a 400; falls back to the next model in the chain", async () => {
    claude.on(sonnet, httpError(400));
    local.on(llama, reply().text("from llama"));
    const { r, sleeps } = router(["anthropic:claude-sonnet-5-5", "openai:llama3.1:8b"]);
    const { events, error } = await collect(r.stream(req, { role: "agent" }));
    expect(error).toBeUndefined();
    expect(sleeps).toEqual([]);
    expect(events[0]).toMatchObject({ type: "model", ref: "openai:llama3.1:8b" });
    expect(local.requests[0]!.body.model).toBe("llama3.1:8b");
  });

  test("falls back while streaming when the primary keeps failing before the first token", async () => {
    claude.on(sonnet, httpError(529), httpError(529), httpError(529));
    local.on(llama, reply().text("fall", "back"));
    const { r } = router(["anthropic:claude-sonnet-5-5", "openai:llama3.1:8b"]);
    const { events, error } = await collect(r.stream(req, { role: "agent" }));
    expect(error).toBeUndefined();
    expect(claude.requests.length).toBe(3);
    expect(events.filter((e) => e.type === "text").map((e) => (e as { delta: string }).delta)).toEqual(["fall", "back"]);
  });

  test("a failure after the first token is reported, not retried or replayed; the tokens already spent are recorded", async () => {
    claude.on(sonnet, reply().text("one ", "two ", "three").streamError(2).usage({ input: 777_000, output: 1 }));
    const { r, ledger } = router(["anthropic:claude-sonnet-5-5", "openai:llama3.1:8b"]);
    const before = ledger.status().spentUsd;
    const { events, error } = await collect(r.stream(req, { role: "agent" }));
    expect(error?.code).toBe("model_stream_interrupted");
    expect(events.filter((e) => e.type === "text").length).toBe(2);
    expect(local.requests.length).toBe(0);
    expect(claude.requests.length).toBe(1);
    expect(ledger.status().spentUsd - before).toBeCloseTo((777_000 * 3) / 1e6, 3);
  });

  test("a retry-after longer than the cap moves on at once instead of stalling", async () => {
    claude.on(sonnet, httpError(429, { headers: { "retry-after": "3600" } }));
    local.on(llama, reply().text("quick"));
    const { r, sleeps } = router(["anthropic:claude-sonnet-5-5", "openai:llama3.1:8b"]);
    const { error } = await collect(r.stream(req, { role: "agent" }));
    expect(error).toBeUndefined();
    expect(sleeps).toEqual([]);
  });

  test("every model failing gives model_unavailable naming each attempt", async () => {
    claude.on(sonnet, httpError(401));
    local.on(llama, httpError(500), httpError(500), httpError(500));
    const { r } = router(["anthropic:claude-sonnet-5-5", "openai:llama3.1:8b"]);
    const { error } = await collect(r.stream(req, { role: "agent" }));
    expect(error?.code).toBe("model_unavailable");
    expect(error?.message).toContain("anthropic:claude-sonnet-5-5");
    expect(error?.message).toContain("openai:llama3.1:8b");
  });

  test("the circuit opens after repeated failures and later calls skip the provider without a request", async () => {
    const { r } = router(["anthropic:claude-sonnet-5-5", "openai:llama3.1:8b"], { threshold: 3 });
    claude.on(sonnet, httpError(500), httpError(500), httpError(500));
    local.on(llama, reply().text("a"), reply().text("b"));
    expect((await collect(r.stream(req, { role: "agent" }))).error).toBeUndefined();
    expect(claude.requests.length).toBe(3);
    expect(r.health().anthropic?.state).toBe("open");
    const second = await collect(r.stream(req, { role: "agent" }));
    expect(second.error).toBeUndefined();
    expect(claude.requests.length).toBe(3);
    expect(local.requests.length).toBe(2);
  });

  test("records tokens and cost of every call", async () => {
    claude.on(model("claude-haiku-5-5"), reply().text("x").usage({ input: 1000, output: 500 }));
    const { r, ledger } = router(["anthropic:claude-haiku-5-5"]);
    const before = ledger.status().spentUsd;
    const { events } = await collect(r.stream(req, { role: "observer" }));
    const done = events.find((e) => e.type === "done") as { costUsd: number; usage: { inputTokens: number } };
    expect(done.usage.inputTokens).toBe(1000);
    expect(done.costUsd).toBeCloseTo((1000 * 1 + 500 * 5) / 1e6, 12);
    expect(ledger.status().spentUsd).toBeCloseTo(before + done.costUsd, 6);
  });

  test("past the daily budget, background work is refused with a clear error; chat still runs", async () => {
    claude.on(sonnet, reply().text("spend").usage({ input: 1_000_000, output: 0 }), reply().text("chat ok"));
    const { r } = router(["anthropic:claude-sonnet-5-5"], { budget: 0.5 });
    await collect(r.stream(req, { role: "agent" }));
    const bg = await collect(r.stream(req, { role: "worker", background: true }));
    expect(bg.error?.code).toBe("budget_exceeded");
    expect(bg.error?.message).toContain("$0.50");
    const chat = await collect(r.stream(req, { role: "agent" }));
    expect(chat.error).toBeUndefined();
  });

  test("no chain for the role is a no_model error naming what to set", async () => {
    const { r } = router([]);
    const { error } = await collect(r.stream(req, { role: "agent" }));
    expect(error?.code).toBe("no_model");
    expect(error?.message).toContain("ANTHROPIC_API_KEY");
    expect(error?.message).toContain("OPENAI_BASE_URL");
  });
});

describe("UsageLedger", () => {
  test("batched rows reach the table before any read and on flush, and today's total is exact at once", () => {
    const ledger = new UsageLedger(
      store.db,
      () => DEFAULT_PRICES,
      () => undefined,
    );
    ledgers.push(ledger);
    const count = () => (store.sqlite.query("select count(*) as n from usage where role = 'batch-test'").get() as { n: number }).n;
    const before = ledger.status().spentUsd;
    for (let i = 0; i < 3; i++)
      ledger.record({
        role: "batch-test",
        provider: "anthropic",
        model: "claude-haiku-5-5",
        usage: { inputTokens: 1_000_000, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
      });
    expect(ledger.status().spentUsd).toBeCloseTo(before + 3, 6);
    const report = ledger.byDay(1);
    expect(count()).toBe(3);
    expect(report.rows.find((r) => r.model === "claude-haiku-5-5")!.calls).toBeGreaterThanOrEqual(3);
  });
});

describe("What caching costs", () => {
  test("cache writes are priced at 1.25× the input price and reads at 0.1×, as Anthropic bills them, and the saving is kept", () => {
    const ledger = new UsageLedger(
      store.db,
      () => DEFAULT_PRICES,
      () => undefined,
    );
    ledgers.push(ledger);
    const before = ledger.status().spentUsd;
    const usage = { inputTokens: 100, outputTokens: 50, cacheReadTokens: 10_000, cacheWriteTokens: 1_000 };
    const cost = ledger.record({ role: "cache-test", provider: "anthropic", model: "claude-sonnet-5-5", usage });
    expect(cost).toBeCloseTo((100 * 3 + 1_000 * 3.75 + 10_000 * 0.3 + 50 * 15) / 1e6, 12);
    // The budget counts what was billed, not what the tokens would cost uncached.
    expect(ledger.status().spentUsd).toBeCloseTo(before + cost, 9);
    const row = ledger.byDay(1).rows.find((r) => r.model === "claude-sonnet-5-5")!;
    expect(row.cacheReadTokens).toBeGreaterThanOrEqual(10_000);
    const saved = store.sqlite.query("select saved_usd as s from usage where role = 'cache-test'").get() as { s: number };
    // Uncached, the 11,100 input tokens would have cost 11,100 × $3/M; they cost less by this much.
    expect(saved.s).toBeCloseTo((11_100 * 3 - (100 * 3 + 1_000 * 3.75 + 10_000 * 0.3)) / 1e6, 12);
  });

  test("through the router, the second call of a cached prefix costs what the stand-in billed for it", async () => {
    claude.cache.clear();
    const system = "A long stable prompt. ".repeat(400);
    claude.on(sonnet, reply().text("one"), reply().text("two"));
    const { r } = router(["anthropic:claude-sonnet-5-5"]);
    const done: { costUsd: number; usage: { cacheReadTokens: number } }[] = [];
    for (let i = 0; i < 2; i++) {
      const { events } = await collect(r.stream({ ...req, system }, { role: "agent" }));
      done.push(events.find((e) => e.type === "done") as (typeof done)[number]);
    }
    const b = claude.billed[1]!;
    expect(b.cacheRead).toBeGreaterThan(1024);
    expect(done[1]!.usage.cacheReadTokens).toBe(b.cacheRead);
    expect(done[1]!.costUsd).toBeCloseTo((b.input * 3 + b.cacheRead * 0.3 + b.cacheWrite * 3.75 + b.output * 15) / 1e6, 12);
    expect(done[1]!.costUsd).toBeLessThan(done[0]!.costUsd / 3);
  });

  test("an OpenAI-compatible server's cached prompt tokens are not counted twice", async () => {
    local.on(llama, reply().text("a"), reply().text("b"));
    const { r, ledger } = router(["openai:llama3.1:8b"]);
    const long = { ...req, system: "Stable. ".repeat(200) };
    await collect(r.stream(long, { role: "agent" }));
    const { events } = await collect(r.stream(long, { role: "agent" }));
    const done = events.find((e) => e.type === "done") as { usage: { inputTokens: number; cacheReadTokens: number } };
    expect(done.usage.cacheReadTokens).toBeGreaterThan(300);
    // The server said prompt_tokens = cached + the rest; the ledger keeps them apart.
    expect(done.usage.inputTokens + done.usage.cacheReadTokens).toBe(Math.ceil(render(local.requests[1]!.body).length / 4));
    expect(done.usage.inputTokens).toBeLessThan(done.usage.cacheReadTokens);
    ledger.flush();
  });
});
