/**
 * Prometheus metrics for GET /metrics. Hand-written rather than prom-client:
 * that library cost ~50 ms of start-up for three series; the text format is
 * small and stable.
 */
type Labels = Record<string, string>;

const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labelText = (names: readonly string[], values: readonly string[]) => (names.length ? `{${names.map((n, i) => `${n}="${esc(values[i] ?? "")}"`).join(",")}}` : "");

interface Series {
  render(): string;
}

export class Counter implements Series {
  private values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[] = [],
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = JSON.stringify(this.labelNames.map((n) => labels[n] ?? ""));
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(JSON.stringify(this.labelNames.map((n) => labels[n] ?? ""))) ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [key, v] of this.values) lines.push(`${this.name}${labelText(this.labelNames, JSON.parse(key))} ${v}`);
    return lines.join("\n");
  }
}

export class Histogram implements Series {
  private series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const key = JSON.stringify(this.labelNames.map((n) => labels[n] ?? ""));
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [key, s] of this.series) {
      const values = JSON.parse(key) as string[];
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${labelText([...this.labelNames, "le"], [...values, String(b)])} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${labelText([...this.labelNames, "le"], [...values, "+Inf"])} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(this.labelNames, values)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(this.labelNames, values)} ${s.count}`);
    }
    return lines.join("\n");
  }
}

export class Registry {
  readonly contentType = "text/plain; version=0.0.4; charset=utf-8";
  private all: Series[] = [];
  private started = Date.now();

  add<T extends Series>(s: T): T {
    this.all.push(s);
    return s;
  }

  async metrics(): Promise<string> {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    const process_ = [
      "# TYPE bakerst_process_resident_memory_bytes gauge",
      `bakerst_process_resident_memory_bytes ${mem.rss}`,
      "# TYPE bakerst_process_heap_bytes gauge",
      `bakerst_process_heap_bytes ${mem.heapUsed}`,
      "# TYPE bakerst_process_cpu_seconds_total counter",
      `bakerst_process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`,
      "# TYPE bakerst_process_start_time_seconds gauge",
      `bakerst_process_start_time_seconds ${Math.floor(this.started / 1000)}`,
    ];
    return `${[...this.all.map((s) => s.render()), ...process_].join("\n")}\n`;
  }
}

/** One registry per app so tests stay independent. Areas add their own series with `registry.add`. */
export function createMetrics() {
  const registry = new Registry();
  return {
    registry,
    httpRequests: registry.add(new Counter("bakerst_http_requests_total", "HTTP requests by method, route and status", ["method", "route", "status"])),
    httpDuration: registry.add(
      new Histogram(
        "bakerst_http_request_duration_seconds",
        "Time to produce the response head",
        ["method", "route"],
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      ),
    ),
    turns: registry.add(new Counter("bakerst_chat_turns_total", "Chat turns by outcome", ["outcome"])),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
