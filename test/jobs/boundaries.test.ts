import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dir, "..", "..");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Relative imports of a file, resolved to repo paths. */
function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
    const spec = m[1] ?? m[2]!;
    if (spec.startsWith(".")) out.push(relative(root, resolve(dirname(file), spec)));
  }
  return out;
}

describe("Module boundaries", () => {
  test("core/protocol imports nothing from the rest of core or from satellite", () => {
    const bad = files(join(root, "core/protocol")).flatMap((f) =>
      imports(f)
        .filter((i) => !i.startsWith("core/protocol/"))
        .map((i) => `${relative(root, f)} -> ${i}`),
    );
    expect(bad).toEqual([]);
  });

  test("the protocol's schema entry point does not pull in the NATS client or child processes", () => {
    const text = files(join(root, "core/protocol"))
      .filter((f) => !f.endsWith("nats.ts"))
      .map((f) => readFileSync(f, "utf8"))
      .join("\n");
    expect(text).not.toMatch(/@nats-io|child_process/);
  });

  test("satellite/ imports from core only core/protocol", () => {
    const bad = files(join(root, "satellite")).flatMap((f) =>
      imports(f)
        .filter((i) => !i.startsWith("satellite/") && !i.startsWith("core/protocol/"))
        .map((i) => `${relative(root, f)} -> ${i}`),
    );
    expect(bad).toEqual([]);
  });

  test("core imports from satellite/ only the worker's and the sandbox's entry points, in core/jobs/edge.ts", () => {
    const uses = files(join(root, "core")).flatMap((f) =>
      imports(f)
        .filter((i) => i.startsWith("satellite/"))
        .map((i) => `${relative(root, f)} -> ${i}`),
    );
    expect(uses.sort()).toEqual(["core/jobs/edge.ts -> satellite/sandbox/index.ts", "core/jobs/edge.ts -> satellite/worker/index.ts"]);
  });

  test("the sandbox is reusable: it imports nothing from the worker", () => {
    const bad = files(join(root, "satellite/sandbox")).flatMap((f) =>
      imports(f)
        .filter((i) => !i.startsWith("satellite/sandbox/") && !i.startsWith("core/protocol/"))
        .map((i) => `${relative(root, f)} -> ${i}`),
    );
    expect(bad).toEqual([]);
  });
});
