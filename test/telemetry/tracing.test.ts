/**
 * Traces: spans are ids for logs and headers when OpenTelemetry is off; on,
 * one chat that dispatches a job to a satellite is one trace with spans from
 * both processes, as a local OTLP/HTTP receiver gets them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createLogger } from "../../core/telemetry/log.ts";
import { currentTraceId, outgoingTraceHeaders, parseTraceparent, startSpan, tracingEnabled, withSpan } from "../../core/telemetry/tracing.ts";
import { TOKEN, tempDir } from "../helpers/app.ts";
import { compiledBinary, type RunningBinary, startBinary } from "../helpers/binary.ts";
import { waitFor } from "../helpers/nats.ts";
import { type SecuredNats, startSecuredNats } from "../helpers/nats-identities.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, and, firstRound, prompt, reply } from "../standins/script.ts";

describe("Tracing with OpenTelemetry off", () => {
  test("is the no-op: nothing is loaded, yet spans nest in one trace and messages leaving a span carry it", async () => {
    expect(tracingEnabled()).toBe(false);
    const seen = await withSpan("outer", {}, async (outer) => {
      await Promise.resolve();
      const inner = await withSpan("inner", {}, async (span) => span);
      return { outer, inner, headers: outgoingTraceHeaders(), id: currentTraceId() };
    });
    expect(seen.inner.traceId).toBe(seen.outer.traceId);
    expect(seen.inner.spanId).not.toBe(seen.outer.spanId);
    expect(seen.id).toBe(seen.outer.traceId);
    expect(seen.headers).toEqual({ traceparent: `00-${seen.outer.traceId}-${seen.outer.spanId}-01` });
    expect(currentTraceId()).toBeUndefined();
    expect(outgoingTraceHeaders()).toBeUndefined();
  });

  test("a span continues a caller's traceparent; a malformed or all-zero one starts a new trace instead", () => {
    const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    expect(startSpan("x", { parent: `00-${trace}-00f067aa0ba902b7-01` }).traceId).toBe(trace);
    for (const bad of [
      "",
      "garbage",
      `00-${"0".repeat(32)}-00f067aa0ba902b7-01`,
      `00-${trace}-${"0".repeat(16)}-01`,
      `00-${trace}-00f067aa0ba902b7`,
      `00-${trace.toUpperCase()}x-00f067aa0ba902b7-01`,
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
      const span = startSpan("x", { parent: bad });
      expect(span.traceId).toMatch(/^[\da-f]{32}$/);
      expect(span.traceId).not.toBe(trace);
    }
  });

  test("a log line written inside a span carries its trace id; one outside carries none", async () => {
    const lines: string[] = [];
    const log = createLogger("info", {}, (l) => lines.push(l) > 0);
    log.info("before");
    const traceId = await withSpan("work", {}, async (span) => {
      await Bun.sleep(1);
      log.info("inside");
      return span.traceId;
    });
    const parsed = lines.map((l) => JSON.parse(l) as { msg: string; traceId?: string });
    expect(parsed.map((p) => [p.msg, p.traceId])).toEqual([
      ["before", undefined],
      ["inside", traceId],
    ]);
  });
});

interface ReceivedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  kind: number;
  attributes: Record<string, unknown>;
}

/** A local OTLP/HTTP receiver (JSON): every span posted to /v1/traces, with its service. */
function startReceiver() {
  const spans: ReceivedSpan[] = [];
  const hex = (v: unknown) => (typeof v === "string" && /^[\da-f]*$/i.test(v) ? v.toLowerCase() : Buffer.from(String(v ?? ""), "base64").toString("hex"));
  const value = (v: Record<string, unknown>) => v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      if (req.method !== "POST" || new URL(req.url).pathname !== "/v1/traces") return new Response("not found", { status: 404 });
      const body = (await req.json()) as {
        resourceSpans: { resource: { attributes: { key: string; value: Record<string, unknown> }[] }; scopeSpans: { spans: Record<string, unknown>[] }[] }[];
      };
      for (const rs of body.resourceSpans) {
        const service = String(value(rs.resource.attributes.find((a) => a.key === "service.name")?.value ?? {}));
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            const attributes = Object.fromEntries(((s.attributes as { key: string; value: Record<string, unknown> }[]) ?? []).map((a) => [a.key, value(a.value)]));
            spans.push({
              service,
              name: String(s.name),
              traceId: hex(s.traceId),
              spanId: hex(s.spanId),
              parentSpanId: hex(s.parentSpanId ?? ""),
              kind: Number(s.kind),
              attributes,
            });
          }
        }
      }
      return Response.json({});
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, spans, stop: () => server.stop(true) };
}

describe("Tracing with OTEL_EXPORTER_OTLP_ENDPOINT", () => {
  let model: AnthropicStandIn;
  let nats: SecuredNats;
  let receiver: ReturnType<typeof startReceiver>;
  let core: RunningBinary | undefined;
  let satellite: Bun.Subprocess | undefined;

  beforeAll(async () => {
    await compiledBinary("bakerst");
    await compiledBinary("bakerst-satellite");
    model = startAnthropicStandIn();
    nats = await startSecuredNats();
    receiver = startReceiver();
  }, 120_000);
  afterEach(async () => {
    if (satellite?.exitCode === null) satellite.kill("SIGKILL");
    await core?.stop();
    model.checkAndReset();
  });
  afterAll(async () => {
    await model.stop();
    await nats.cleanup();
    receiver.stop();
  });

  test("one chat that dispatches a job to a satellite is one trace, with spans from both processes linked parent to child", async () => {
    core = await startBinary({
      AUTH_TOKEN: TOKEN,
      ANTHROPIC_API_KEY: "sk-ant-test-key-0123456789",
      ANTHROPIC_BASE_URL: model.url,
      NATS_URL: nats.url,
      NATS_CREDS: nats.credsFile({ role: "core" }),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    let satLog = "";
    satellite = Bun.spawn([await compiledBinary("bakerst-satellite"), "--mode", "worker", "--id", "traced-1"], {
      cwd: tempDir("bakerst-sat-cwd-"),
      env: {
        PATH: "/usr/bin:/bin",
        NATS_URL: nats.url,
        NATS_CREDS: nats.credsFile({ role: "worker" }),
        COMMAND_ALLOWLIST: "date",
        LOG_LEVEL: "debug",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      },
      stdout: "ignore",
      stderr: "pipe",
    });
    const satPump = (async () => {
      for await (const c of satellite.stderr as ReadableStream<Uint8Array>) satLog += new TextDecoder().decode(c);
    })();
    await waitFor(
      "the worker's heartbeat at the core",
      async () => {
        const h = (await (await fetch(`${core!.url}/api/system/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
          components: { workers?: { status: string } };
        };
        return h.components.workers?.status === "ok";
      },
      20_000,
    );

    model.on(and(prompt("What is the date on the worker?"), firstRound), reply().tool("dispatch_job", { type: "command", command: "date -u" }));
    model.on(afterTool("dispatch_job"), reply().text("It is today."));
    const res = await fetch(`${core.url}/api/chat`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ message: "What is the date on the worker?" }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { text: string }).text).toBe("It is today.");
    const traceId = res.headers.get("x-trace-id")!;
    expect(traceId).toMatch(/^[\da-f]{32}$/);

    // The satellite sends what it buffered as it stops; the core within its batch delay.
    satellite.kill("SIGTERM");
    expect(await satellite.exited).toBe(0);
    await satPump;
    const inTrace = () => receiver.spans.filter((s) => s.traceId === traceId);
    const spans = await waitFor(
      "the core's spans of the chat at the receiver",
      () => {
        const s = inTrace();
        return s.some((x) => x.name === "job.completed") && s.some((x) => x.name === "POST /api/chat") ? s : undefined;
      },
      15_000,
    );

    const one = (service: string, name: string) => {
      const found = spans.filter((s) => s.service === service && s.name === name);
      expect(found.map((s) => `${s.service} ${s.name}`)).toEqual([`${service} ${name}`]);
      return found[0]!;
    };
    const http = one("bakerst", "POST /api/chat");
    const turn = one("bakerst", "turn");
    const tool = one("bakerst", "tool dispatch_job");
    const dispatch = one("bakerst", "job.dispatch command");
    const run = one("bakerst-satellite", "job.run command");
    const back = one("bakerst", "job.completed");
    const modelCalls = spans.filter((s) => s.name === "chat claude-sonnet-5-5");
    expect(modelCalls).toHaveLength(2);

    expect(http.parentSpanId).toBe("");
    expect(turn.parentSpanId).toBe(http.spanId);
    for (const m of modelCalls) expect(m.parentSpanId).toBe(turn.spanId);
    expect(tool.parentSpanId).toBe(turn.spanId);
    expect(dispatch.parentSpanId).toBe(tool.spanId);
    expect(run.parentSpanId).toBe(dispatch.spanId);
    expect(back.parentSpanId).toBe(run.spanId);
    expect(http.attributes).toMatchObject({ "http.route": "/api/chat", "http.response.status_code": 200 });
    expect(run.attributes).toMatchObject({ "messaging.system": "nats", "bakerst.job.type": "command", "bakerst.worker.id": "traced-1" });
    expect(modelCalls[0]!.attributes).toMatchObject({ "gen_ai.system": "anthropic", "gen_ai.request.model": "claude-sonnet-5-5" });

    // Log lines written inside the trace say so, in both processes.
    expect(satLog.split("\n").some((l) => l.includes(`"traceId":"${traceId}"`) && l.includes('"msg":"job finished"'))).toBe(true);
    // Nothing of the API token or the model key in what went to the collector.
    expect(JSON.stringify(receiver.spans)).not.toContain(TOKEN);
    expect(JSON.stringify(receiver.spans)).not.toContain("sk-ant-test-key-0123456789");
  }, 90_000);
});
