import { afterAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { failures, runBunTest } from "../../scripts/bun-test.ts";
import { tempDir } from "../helpers/app.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A throwaway project with one test file, run by the real `bun test` the way `npm test` runs it. */
async function run(source: string) {
  const dir = tempDir("bakerst-npm-test-");
  dirs.push(dir);
  writeFileSync(join(dir, "throwaway.test.ts"), `import { describe, expect, test } from "bun:test";\n${source}`);
  return runBunTest([], { cwd: dir, echo: false });
}

describe("npm test", () => {
  test("skipped and todo tests are named and counted as failed", async () => {
    const t = await run(`
test("passes", () => expect(1).toBe(1));
test.skip("left out for now", () => {});
describe.skip("a skipped group", () => test("inside", () => {}));
test.todo("write me");
`);
    expect(t.pass).toBe(1);
    expect(t.skip).toBe(2);
    expect(t.todo).toBe(1);
    expect(t.skipped).toContain("throwaway.test.ts > left out for now");
    expect(t.skipped).toContain("throwaway.test.ts > a skipped group > inside");
    expect(t.todos).toEqual(["throwaway.test.ts > write me"]);
    expect(failures(t)).toBe(3);
  });

  test("a test.only left behind fails the run instead of skipping the rest", async () => {
    const t = await run(`
test.only("focused", () => expect(1).toBe(1));
test("the rest", () => expect(1).toBe(1));
`);
    expect(t.exitCode).not.toBe(0);
    expect(failures(t)).toBeGreaterThan(0);
  });

  test("a clean run counts no failure", async () => {
    const t = await run(`test("passes", () => expect(1).toBe(1));`);
    expect(t).toMatchObject({ pass: 1, fail: 0, skip: 0, todo: 0, exitCode: 0 });
    expect(failures(t)).toBe(0);
  });

  test("a failing test is counted once", async () => {
    const t = await run(`test("fails", () => expect(1).toBe(2));`);
    expect(t).toMatchObject({ pass: 0, fail: 1 });
    expect(failures(t)).toBe(1);
  });
});
