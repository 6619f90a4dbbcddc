import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Glob } from "bun";

const root = join(import.meta.dir, "..", "..");

describe("ui/ boundary", () => {
  test("the console imports nothing from core/ or satellite/: it talks to the server over HTTP only", async () => {
    const offenders: string[] = [];
    let files = 0;
    for await (const file of new Glob("ui/**/*.{ts,tsx}").scan(root)) {
      files++;
      const src = await Bun.file(join(root, file)).text();
      for (const m of src.matchAll(/(?:import|export)[^"']*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
        const spec = m[1] ?? m[2]!;
        if (/(^|\/)(core|satellite)\//.test(spec)) offenders.push(`${file}: ${spec}`);
      }
    }
    expect(files).toBeGreaterThan(10);
    expect(offenders).toEqual([]);
  });
});
