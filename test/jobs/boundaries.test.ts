import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dir, "..", "..");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(p) ? [p] : [];
  });
}

/** Relative imports of a file (type-only ones too), resolved to repo paths. */
function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|declare module\s+["']([^"']+)["']/g)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (spec.startsWith(".")) out.push(relative(root, resolve(dirname(file), spec)));
  }
  const self = relative(root, file);
  return out.filter((i) => i !== self);
}

const offenders = (dir: string, allowed: (imported: string) => boolean) =>
  files(join(root, dir)).flatMap((f) =>
    imports(f)
      .filter((i) => !allowed(i))
      .map((i) => `${relative(root, f)} -> ${i}`),
  );

describe("Module boundaries", () => {
  test("core/protocol imports nothing from the rest of core or from satellite", () => {
    expect(offenders("core/protocol", (i) => i.startsWith("core/protocol/"))).toEqual([]);
  });

  test("the bus imports only the protocol; the agent loop only the protocol", () => {
    expect(offenders("core/bus", (i) => i.startsWith("core/bus/") || i.startsWith("core/protocol/"))).toEqual([]);
    expect(offenders("core/agent", (i) => i.startsWith("core/agent/") || i.startsWith("core/protocol/"))).toEqual([]);
  });

  test("the tracer both binaries share imports nothing of core but the agent loop's types, and the OpenTelemetry SDK only from otel.ts", () => {
    const tracer = ["core/telemetry/tracing.ts", "core/telemetry/span.ts", "core/telemetry/otel.ts"];
    const outside = tracer.flatMap((f) =>
      imports(join(root, f))
        .filter((i) => !tracer.includes(i) && i !== "core/agent/types.ts")
        .map((i) => `${f} -> ${i}`),
    );
    expect(outside).toEqual([]);
    const sdkUsers = files(join(root, "core"))
      .concat(files(join(root, "satellite")))
      .filter((f) => /from\s+["']@opentelemetry\//.test(readFileSync(f, "utf8")))
      .map((f) => relative(root, f));
    expect(sdkUsers).toEqual(["core/telemetry/otel.ts"]);
    // Loaded by a dynamic import, only when an endpoint is configured.
    expect(readFileSync(join(root, "core/telemetry/tracing.ts"), "utf8")).toMatch(/await import\("\.\/otel\.ts"\)/);
  });

  test("the protocol's schemas do not pull in the NATS client or child processes", () => {
    const text = files(join(root, "core/protocol"))
      .map((f) => readFileSync(f, "utf8"))
      .join("\n");
    expect(text).not.toMatch(/@nats-io|child_process/);
  });

  test("satellite/ imports from core exactly the protocol, the bus, the agent loop and the tracer", () => {
    const shared = ["core/protocol/", "core/bus/", "core/agent/", "core/telemetry/tracing.ts"];
    expect(offenders("satellite", (i) => i.startsWith("satellite/") || shared.some((p) => i.startsWith(p)))).toEqual([]);
  });

  test("core imports from satellite/ only the worker's, the task role's and the sandbox's entry points, in core/jobs/edge.ts", () => {
    const uses = files(join(root, "core")).flatMap((f) =>
      imports(f)
        .filter((i) => i.startsWith("satellite/"))
        .map((i) => `${relative(root, f)} -> ${i}`),
    );
    expect(uses.sort()).toEqual([
      "core/jobs/edge.ts -> satellite/sandbox/index.ts",
      "core/jobs/edge.ts -> satellite/task/index.ts",
      "core/jobs/edge.ts -> satellite/worker/index.ts",
    ]);
  });

  test("the sandbox is reusable: it imports nothing from the worker", () => {
    const bad = files(join(root, "satellite/sandbox")).flatMap((f) =>
      imports(f)
        .filter((i) => !i.startsWith("satellite/sandbox/") && !i.startsWith("core/protocol/"))
        .map((i) => `${relative(root, f)} -> ${i}`),
    );
    expect(bad).toEqual([]);
  });

  test("no two files of core/ or satellite/ import each other, directly or in a circle", () => {
    const graph = new Map<string, string[]>();
    for (const f of [...files(join(root, "core")), ...files(join(root, "satellite"))]) graph.set(relative(root, f), imports(f));
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (n: string) => {
      state.set(n, "open");
      stack.push(n);
      for (const m of graph.get(n) ?? []) {
        if (state.get(m) === "open") cycles.push([...stack.slice(stack.indexOf(m)), m].join(" -> "));
        else if (!state.has(m)) visit(m);
      }
      stack.pop();
      state.set(n, "done");
    };
    for (const n of graph.keys()) if (!state.has(n)) visit(n);
    expect(graph.size).toBeGreaterThan(100);
    expect(cycles).toEqual([]);
  });
});
