/** The shapes of spans, shared by the tracer (tracing.ts) and the OpenTelemetry recorder (otel.ts). */
export type Attributes = Record<string, string | number | boolean | undefined>;
export type SpanKind = "internal" | "server" | "client" | "producer" | "consumer";

export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  set(attributes: Attributes): void;
  rename(name: string): void;
  /** Marks the span failed; it still ends where it would. */
  fail(err: unknown): void;
  end(): void;
}

export interface ParentContext {
  traceId: string;
  spanId: string;
  remote: boolean;
}

/** What records spans: the no-op in tracing.ts, or the OpenTelemetry SDK (otel.ts). */
export interface SpanRecorder {
  start(name: string, kind: SpanKind, attributes: Attributes, parent: ParentContext | undefined): Span;
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL; spans go to `<endpoint>/v1/traces`. */
  endpoint: string;
  service: "bakerst" | "bakerst-satellite";
  version: string;
  instance: string;
  /** Applied to failure messages before they leave the process (the process's secrets replaced). */
  redact?: (text: string) => string;
}
