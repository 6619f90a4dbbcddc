import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { makeApp, readSse, serveApp, TOKEN } from "../helpers/app.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, and, firstRound, prompt, reply } from "../standins/script.ts";

let model: AnthropicStandIn;
let h: Awaited<ReturnType<typeof makeApp>>;
beforeAll(async () => {
  model = startAnthropicStandIn();
  h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url, MAX_BODY_BYTES: "4096" });
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await h.close();
  await model.stop();
});

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

describe("HTTP edges", () => {
  test("malformed JSON is a 400 that says so", async () => {
    const res = await h.request("/api/chat", { method: "POST", body: '{"message": "hi"', headers: { "content-type": "application/json" } });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_json");
  });

  test("a missing or wrong-typed field is a 400 naming the field", async () => {
    const missing = await h.request("/api/chat", { method: "POST", json: {} });
    expect(missing.status).toBe(400);
    expect((await errorOf(missing)).message).toStartWith("message");
    const typed = await h.request("/api/chat", { method: "POST", json: { message: 42 } });
    expect((await errorOf(typed)).message).toStartWith("message");
    const extra = await h.request("/api/chat", { method: "POST", json: { message: "hi", sneaky: true } });
    expect(extra.status).toBe(400);
    const blank = await h.request("/api/chat", { method: "POST", json: { message: "   " } });
    expect(blank.status).toBe(400);
    const cfg = await h.request("/api/models/config", { method: "PUT", json: { roles: { agent: ["gpt-4"] } } });
    expect(cfg.status).toBe(400);
    expect((await errorOf(cfg)).message).toContain("roles.agent[0]");
  });

  test("an oversized body is 413 whether or not it declares its length", async () => {
    const big = JSON.stringify({ message: "x".repeat(10_000) });
    const declared = await h.request("/api/chat", { method: "POST", body: big, headers: { "content-type": "application/json" } });
    expect(declared.status).toBe(413);
    expect((await errorOf(declared)).code).toBe("payload_too_large");
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode("x".repeat(1000)));
        c.close();
      },
    });
    const res = await h.app.handle(
      new Request("http://localhost/api/chat", { method: "POST", body: chunked, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" } }),
    );
    expect(res.status).toBe(413);
  });

  test("unknown ids are 404, unknown API paths are 404, all with JSON errors and a trace id", async () => {
    for (const [method, path] of [
      ["GET", "/api/conversations/nope"],
      ["DELETE", "/api/conversations/nope"],
      ["GET", "/api/nope"],
      ["GET", "/api/chat/stream/nope"],
    ] as const) {
      const res = await h.request(path, { method });
      expect(res.status).toBe(404);
      expect((await errorOf(res)).code).toBe("not_found");
      expect(res.headers.get("x-trace-id")).toMatch(/^[0-9a-f]{32}$/);
    }
    const onUnknownConversation = await h.request("/api/chat", { method: "POST", json: { message: "hi", conversationId: "missing" } });
    expect(onUnknownConversation.status).toBe(404);
  });

  test("X-Trace-Id continues an incoming W3C traceparent", async () => {
    const res = await h.request("/ping", { headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" } });
    expect(res.headers.get("x-trace-id")).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });

  test("conversations: list, search by title, rename, delete", async () => {
    model.on(prompt("plan the garden"), reply().text("Start with the soil."));
    model.on(prompt("fix the NAS"), reply().text("Which NAS?"));
    const a = (await (await h.request("/api/chat", { method: "POST", json: { message: "plan the garden" } })).json()) as any;
    await h.request("/api/chat", { method: "POST", json: { message: "fix the NAS" } });
    const found = (await (await h.request("/api/conversations?q=garden")).json()) as any;
    expect(found.conversations.map((c: any) => c.title)).toEqual(["plan the garden"]);
    const renamed = (await (await h.request(`/api/conversations/${a.conversationId}`, { method: "PATCH", json: { title: "Garden 2027" } })).json()) as any;
    expect(renamed.title).toBe("Garden 2027");
    expect((await h.request(`/api/conversations/${a.conversationId}`, { method: "DELETE" })).status).toBe(200);
    expect((await h.request(`/api/conversations/${a.conversationId}`)).status).toBe(404);
  });

  test("GET /api/usage sums tokens and cost by day and model", async () => {
    model.on(prompt("count me"), reply().text("priced").usage({ input: 2000, output: 1000 }));
    await h.request("/api/chat", { method: "POST", json: { message: "count me" } });
    const usage = (await (await h.request("/api/usage?days=1")).json()) as any;
    const row = usage.rows.find((r: any) => r.model === "claude-sonnet-5-5");
    expect(row.day).toBe(new Date().toISOString().slice(0, 10));
    expect(row.calls).toBeGreaterThan(0);
    expect(row.inputTokens).toBeGreaterThanOrEqual(2000);
    expect(usage.totals.costUsd).toBeGreaterThan(0);
    expect(usage.budget).toMatchObject({ dailyUsd: null, exceeded: false });
  });

  test("models config: defaults per role, owner overrides persist, prices override", async () => {
    const before = (await (await h.request("/api/models/config")).json()) as any;
    expect(before.roles.agent).toEqual(["anthropic:claude-sonnet-5-5"]);
    expect(before.roles.observer).toEqual(["anthropic:claude-haiku-5-5"]);
    const put = await h.request("/api/models/config", {
      method: "PUT",
      json: { roles: { worker: ["anthropic:claude-opus-5-5", "anthropic:claude-haiku-5-5"] }, prices: { "claude-opus-5-5": { input: 6, output: 30 } }, dailyBudgetUsd: 5 },
    });
    expect(put.status).toBe(200);
    const after = (await put.json()) as any;
    expect(after.roles.worker).toEqual(["anthropic:claude-opus-5-5", "anthropic:claude-haiku-5-5"]);
    expect(after.prices["claude-opus-5-5"]).toEqual({ input: 6, output: 30 });
    expect(after.dailyBudgetUsd).toBe(5);
    const models = (await (await h.request("/api/models")).json()) as any;
    expect(models.providers[0]).toMatchObject({ name: "anthropic", models: model.models });
    await h.request("/api/models/config", { method: "PUT", json: { roles: { worker: [] }, dailyBudgetUsd: null } });
  });

  test("/readyz reports ready and /metrics serves Prometheus text", async () => {
    expect(((await (await h.request("/readyz")).json()) as any).ready).toBe(true);
    const metrics = await (await h.request("/metrics")).text();
    expect(metrics).toContain("bakerst_http_requests_total");
  });
});

describe("without a model", () => {
  test("the server starts and serves; chat answers 503 no_model naming the variables", async () => {
    const bare = await makeApp();
    try {
      expect((await bare.request("/api/conversations")).status).toBe(200);
      for (const path of ["/api/chat", "/api/chat/stream"]) {
        const res = await bare.request(path, { method: "POST", json: { message: "hello?" } });
        expect(res.status).toBe(503);
        const e = await errorOf(res);
        expect(e.code).toBe("no_model");
        expect(e.message).toContain("ANTHROPIC_API_KEY");
        expect(e.message).toContain("OPENAI_BASE_URL");
      }
      const health = (await (await bare.request("/api/system/health")).json()) as any;
      expect(health.components.models.status).toBe("down");
    } finally {
      await bare.close();
    }
  });
});

describe("durability", () => {
  test("a conversation, with its tool calls, survives a restart", async () => {
    const dataDir = (await import("../helpers/app.ts")).tempDir();
    const env = { ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url };
    const first = await makeApp(env, { dataDir });
    model.on(and(prompt("what time is it?"), firstRound), reply().tool("current_time", { timeZone: "Europe/London" }, "ct1"));
    model.on(afterTool("current_time"), reply().text("It is teatime."));
    const r = (await (await first.request("/api/chat", { method: "POST", json: { message: "what time is it?" } })).json()) as any;
    await first.close(false);
    const second = await makeApp(env, { dataDir });
    try {
      const conv = (await (await second.request(`/api/conversations/${r.conversationId}`)).json()) as any;
      expect(conv.messages.map((m: any) => m.role)).toEqual(["user", "assistant", "tool", "assistant"]);
      expect(conv.messages[1].content[0]).toMatchObject({ type: "tool_use", name: "current_time" });
      expect(conv.messages[2].content[0].content).toContain("Europe/London");
      model.on(prompt("and now?"), reply().text("still here"));
      const next = await second.request("/api/chat", { method: "POST", json: { message: "and now?", conversationId: r.conversationId } });
      expect(next.status).toBe(200);
      // The reloaded history, tool round included, went to the model.
      const sent = model.requests.at(-1)!.body.messages;
      expect(sent.length).toBe(5);
      expect(JSON.stringify(sent[1])).toContain("current_time");
    } finally {
      await second.close();
    }
  });

  test("a client that disconnects mid-stream does not lose the turn", async () => {
    const srv = await serveApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url });
    try {
      // The model answers only once the client has gone.
      let answer!: () => void;
      model.on(
        prompt("long answer"),
        reply()
          .wait(new Promise<void>((r) => (answer = r)))
          .text("first ", "second ", "third"),
      );
      const abort = new AbortController();
      const res = await fetch(`${srv.url}/api/chat/stream`, {
        method: "POST",
        headers: { ...srv.auth, "content-type": "application/json" },
        body: JSON.stringify({ message: "long answer" }),
        signal: abort.signal,
      });
      const reader = res.body!.getReader();
      const { value } = await reader.read();
      const firstChunk = new TextDecoder().decode(value);
      const conversationId = JSON.parse(/data: (.*)/.exec(firstChunk)![1]!).id as string;
      abort.abort();
      const turn = srv.services.brain.activeTurn(conversationId);
      expect(turn).toBeDefined();
      answer();
      await turn!.done;
      const conv = (await (await fetch(`${srv.url}/api/conversations/${conversationId}`, { headers: srv.auth })).json()) as any;
      expect(conv.messages.map((m: any) => m.role)).toEqual(["user", "assistant"]);
      expect(conv.messages[1].content[0].text).toBe("first second third");
      expect(conv.messages[1].error).toBeNull();
    } finally {
      await srv.stop();
    }
  });

  test("a client can resume a turn's stream after the last event id it saw", async () => {
    const srv = await serveApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url });
    try {
      model.on(prompt("abc"), reply().text("a", "b", "c"));
      const events = await readSse(
        await fetch(`${srv.url}/api/chat/stream`, { method: "POST", headers: { ...srv.auth, "content-type": "application/json" }, body: JSON.stringify({ message: "abc" }) }),
      );
      const turnId = events[0]!.data.turnId;
      const resumed = await readSse(await fetch(`${srv.url}/api/chat/stream/${turnId}`, { headers: { ...srv.auth, "last-event-id": "2" } }));
      expect(resumed.map((e) => e.id)).toEqual(events.slice(2).map((e) => e.id));
      expect(resumed.at(-1)!.event).toBe("done");
    } finally {
      await srv.stop();
    }
  });
});

describe("GET /metrics", () => {
  test("counts requests by route and status in Prometheus text format", async () => {
    const h2 = await serveApp();
    const get = (path: string) => fetch(`${h2.url}${path}`, { headers: h2.auth });
    try {
      await get("/api/conversations");
      await get("/api/conversations");
      await get("/api/conversations/01234567-89ab");
      await get("/api/chat/stream/0193a1b2c3d4e5f6");
      await get("/api/no-such-thing");
      const text = await (await get("/metrics")).text();
      expect(text).toContain('bakerst_http_requests_total{method="GET",route="/api/conversations",status="200"} 2');
      // The label is the route that matched, so an unknown id counts under its route's pattern.
      expect(text).toContain('bakerst_http_requests_total{method="GET",route="/api/conversations/:id",status="404"} 1');
      expect(text).toContain('bakerst_http_requests_total{method="GET",route="/api/chat/stream/:turnId",status="404"} 1');
      expect(text).toContain('bakerst_http_requests_total{method="GET",route="unmatched",status="404"} 1');
      expect(text).toMatch(/bakerst_http_request_duration_seconds_bucket\{method="GET",route="\/api\/conversations",le="\+Inf"\} 2/);
      expect(text).toMatch(/bakerst_process_resident_memory_bytes \d+/);
    } finally {
      await h2.stop();
    }
  });
});

describe("shutdown", () => {
  test("a turn running when the server stops is finished and stored before the database closes", async () => {
    const { tempDir } = await import("../helpers/app.ts");
    const dataDir = tempDir();
    const env = { ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url };
    const srv = await serveApp(env, { dataDir });
    // The model answers only after the server was told to stop.
    let answer!: () => void;
    model.on(
      prompt("before shutdown"),
      reply()
        .wait(new Promise<void>((r) => (answer = r)))
        .text("slow ", "but ", "kept"),
    );
    const res = await fetch(`${srv.url}/api/chat/stream`, {
      method: "POST",
      headers: { ...srv.auth, "content-type": "application/json" },
      body: JSON.stringify({ message: "before shutdown" }),
    });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const conversationId = JSON.parse(/data: (.*)/.exec(first)![1]!).id as string;
    const stopping = srv.stop();
    answer();
    await stopping;
    const again = await makeApp(env, { dataDir });
    try {
      const conv = (await (await again.request(`/api/conversations/${conversationId}`)).json()) as any;
      expect(conv.messages.map((m: any) => m.role)).toEqual(["user", "assistant"]);
      expect(conv.messages[1].content[0].text).toBe("slow but kept");
    } finally {
      await again.close();
    }
  });
});
