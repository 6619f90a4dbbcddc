import client from "prom-client";

/** Prometheus metrics for GET /metrics; one registry per app so tests stay independent. */
export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: "bakerst_" });
  const httpRequests = new client.Counter({
    name: "bakerst_http_requests_total",
    help: "HTTP requests by method, route and status",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });
  const httpDuration = new client.Histogram({
    name: "bakerst_http_request_duration_seconds",
    help: "Time to produce the response head",
    labelNames: ["method", "route"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const turns = new client.Counter({
    name: "bakerst_chat_turns_total",
    help: "Chat turns by outcome",
    labelNames: ["outcome"],
    registers: [registry],
  });
  return { registry, httpRequests, httpDuration, turns };
}

export type Metrics = ReturnType<typeof createMetrics>;
