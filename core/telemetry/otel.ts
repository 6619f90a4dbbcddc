/**
 * The OpenTelemetry SDK behind tracing.ts: a tracer provider whose spans are
 * batched and sent as OTLP/HTTP (JSON) to `<endpoint>/v1/traces`. Imported
 * only when OTEL_EXPORTER_OTLP_ENDPOINT is set, so a process without it never
 * loads the SDK.
 */
import { type Attributes as OtelAttributes, SpanKind as OtelKind, ROOT_CONTEXT, SpanStatusCode, TraceFlags, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Attributes, Span, SpanKind, SpanRecorder, TracingOptions } from "./span.ts";

const KINDS: Record<SpanKind, OtelKind> = {
  internal: OtelKind.INTERNAL,
  server: OtelKind.SERVER,
  client: OtelKind.CLIENT,
  producer: OtelKind.PRODUCER,
  consumer: OtelKind.CONSUMER,
};

const defined = (a: Attributes): OtelAttributes => Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as OtelAttributes;

export function otelRecorder(opts: TracingOptions): SpanRecorder {
  const exporter = new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/+$/, "")}/v1/traces` });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": opts.service, "service.version": opts.version, "service.instance.id": opts.instance }),
    // Sent every 2 s or at 512 spans, whichever comes first; a full queue drops the newest rather than holding requests.
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 2_000, maxExportBatchSize: 512, maxQueueSize: 4_096 })],
  });
  const tracer = provider.getTracer(opts.service, opts.version);
  const redact = opts.redact ?? ((text: string) => text);
  return {
    start(name, kind, attributes, parent): Span {
      const ctx = parent
        ? trace.setSpanContext(ROOT_CONTEXT, { traceId: parent.traceId, spanId: parent.spanId, traceFlags: TraceFlags.SAMPLED, isRemote: parent.remote })
        : ROOT_CONTEXT;
      const s = tracer.startSpan(name, { kind: KINDS[kind], attributes: defined(attributes) }, ctx);
      const { traceId, spanId } = s.spanContext();
      return {
        traceId,
        spanId,
        set: (a) => void s.setAttributes(defined(a)),
        rename: (n) => void s.updateName(n),
        // The message only, through the redactor: a stack or a secret in an error never leaves for the collector.
        fail: (err) => {
          const message = redact(err instanceof Error ? err.message : String(err)).slice(0, 500);
          s.setAttributes({ "exception.type": err instanceof Error ? err.name : "error" });
          s.setStatus({ code: SpanStatusCode.ERROR, message });
        },
        end: () => s.end(),
      };
    },
    shutdown: () => provider.shutdown(),
  };
}
