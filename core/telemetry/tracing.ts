/**
 * Spans, in one place, for both binaries. Off (no OTEL_EXPORTER_OTLP_ENDPOINT)
 * a span is two random ids kept in an AsyncLocalStorage, so log lines, the
 * X-Trace-Id header and NATS messages still carry the trace; on, the same
 * calls record OpenTelemetry spans and export them over OTLP/HTTP (otel.ts,
 * which loads the SDK, is imported only then).
 *
 * Imports nothing from the rest of core but types: the satellite uses it too.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { ModelEvent, ModelProvider, ModelRequest } from "../agent/types.ts";
import type { Attributes, ParentContext, Span, SpanKind, SpanRecorder, TracingOptions } from "./span.ts";

export type { Attributes, Span, SpanKind, TracingOptions } from "./span.ts";

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /**
   * The parent: a W3C `traceparent` from another process (an HTTP or NATS
   * header), a span of this process, or null for a new trace. Default: the
   * span the caller runs in.
   */
  parent?: string | Span | null;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = "";
  for (const x of b) s += HEX[x];
  return s;
}

const nothing = () => {};
const noopRecorder: SpanRecorder = {
  start: (_name, _kind, _attributes, parent) => ({
    traceId: parent?.traceId ?? randomHex(16),
    spanId: randomHex(8),
    set: nothing,
    rename: nothing,
    fail: nothing,
    end: nothing,
  }),
  shutdown: async () => {},
};

let recorder: SpanRecorder = noopRecorder;
const current = new AsyncLocalStorage<Span>();

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-[\da-f]{2}$/;

/** The trace and span a `traceparent` header names; undefined when it is absent, malformed or all zeros. */
export function parseTraceparent(header: string | null | undefined): ParentContext | undefined {
  const m = header ? TRACEPARENT.exec(header.trim().toLowerCase()) : null;
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, remote: true };
}

export const traceparentOf = (span: Span) => `00-${span.traceId}-${span.spanId}-01`;

function parentOf(opts: SpanOptions): ParentContext | undefined {
  const p = opts.parent === undefined ? current.getStore() : opts.parent;
  if (p === null || p === undefined) return undefined;
  return typeof p === "string" ? parseTraceparent(p) : { traceId: p.traceId, spanId: p.spanId, remote: false };
}

/** A span the caller ends itself; code it calls does not run inside it (for a stream consumed elsewhere). */
export function startSpan(name: string, opts: SpanOptions = {}): Span {
  return recorder.start(name, opts.kind ?? "internal", opts.attributes ?? {}, parentOf(opts));
}

/**
 * Runs `fn` inside a new span: whatever it calls (model calls, tools, NATS
 * publishes, log lines) belongs to it. The span ends when `fn` returns or its
 * promise settles, failed if it threw.
 */
export function withSpan<T>(name: string, opts: SpanOptions, fn: (span: Span) => T): T {
  const span = startSpan(name, opts);
  let result: T;
  try {
    result = current.run(span, fn, span);
  } catch (err) {
    span.fail(err);
    span.end();
    throw err;
  }
  if (result instanceof Promise) {
    return result.then(
      (v) => (span.end(), v),
      (err) => {
        span.fail(err);
        span.end();
        throw err;
      },
    ) as T;
  }
  span.end();
  return result;
}

export const currentSpan = (): Span | undefined => current.getStore();
export const currentTraceId = (): string | undefined => current.getStore()?.traceId;

/** `traceparent` for a message leaving this process inside the current span; undefined outside any. */
export function outgoingTraceHeaders(): Record<string, string> | undefined {
  const span = current.getStore();
  return span ? { traceparent: traceparentOf(span) } : undefined;
}

export const tracingEnabled = () => recorder !== noopRecorder;

/** Loads the OpenTelemetry SDK and records from now on. Only called when an endpoint is configured. */
export async function startTracing(opts: TracingOptions): Promise<void> {
  const { otelRecorder } = await import("./otel.ts");
  const previous = recorder;
  recorder = otelRecorder(opts);
  await previous.shutdown();
}

/** Sends what is buffered and stops recording (back to the no-op). */
export async function stopTracing(): Promise<void> {
  const r = recorder;
  recorder = noopRecorder;
  await r.shutdown();
}

/**
 * The provider with every model call as a client span carrying the tokens it
 * used. A proxy, so whatever else a provider has (now or later) passes through.
 */
export function tracedProvider<P extends ModelProvider>(provider: P): P {
  async function* stream(req: ModelRequest, signal: AbortSignal): AsyncGenerator<ModelEvent> {
    const span = startSpan(`chat ${req.model}`, {
      kind: "client",
      attributes: { "gen_ai.operation.name": "chat", "gen_ai.system": provider.name, "gen_ai.request.model": req.model, "gen_ai.request.max_tokens": req.maxTokens },
    });
    try {
      for await (const ev of provider.stream(req, signal)) {
        if (ev.type === "done") {
          span.set({ "gen_ai.usage.input_tokens": ev.usage.inputTokens, "gen_ai.usage.output_tokens": ev.usage.outputTokens, "gen_ai.response.finish_reasons": ev.stopReason });
        }
        yield ev;
      }
    } catch (err) {
      span.fail(err);
      throw err;
    } finally {
      span.end();
    }
  }
  return new Proxy(provider, {
    get(target, prop) {
      if (prop === "stream") return stream;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
