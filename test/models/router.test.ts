import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { openStore, type Store } from "../../core/db/client.ts";
import { AnthropicProvider } from "../../core/agent/providers/anthropic.ts";
import { OpenAIProvider } from "../../core/agent/providers/openai.ts";
import { ModelRouter, type RoutedEvent } from "../../core/agent/router.ts";
import { UsageLedger } from "../../core/models/usage.ts";
import { DEFAULT_PRICES } from "../../core/models/prices.ts";
import { startAnthropicStandIn, type AnthropicStandIn } from "../standins/anthropic.ts";
import { startOpenAIStandIn, type OpenAIStandIn } from "../standins/openai.ts";
import { httpError, model, reply } from "../standins/script.ts";
import { tempDir } from "../helpers/app.ts";

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
  const ledger = new UsageLedger(store.db, () => DEFAULT_PRICES, () => opts.budget);
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
    expect(events.filter((e) => e.type === "text").map((e) => (e as { delta: string }).delta).join("")).toBe("ok");
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
    const ledger = new UsageLedger(store.db, () => DEFAULT_PRICES, () => undefined);
    ledgers.push(ledger);
    const count = () => (store.sqlite.query("select count(*) as n from usage where role = 'batch-test'").get() as { n: number }).n;
    const before = ledger.status().spentUsd;
    for (let i = 0; i < 3; i++) ledger.record({ role: "batch-test", provider: "anthropic", model: "claude-haiku-5-5", usage: { inputTokens: 1_000_000, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 } });
    expect(ledger.status().spentUsd).toBeCloseTo(before + 3, 6);
    const report = ledger.byDay(1);
    expect(count()).toBe(3);
    expect(report.rows.find((r) => r.model === "claude-haiku-5-5")!.calls).toBeGreaterThanOrEqual(3);
  });
});
