import { realpathSync } from "node:fs";
import { join } from "node:path";

export const ROOT = realpathSync(join(import.meta.dir, "..", ".."));
export const FIXTURE = join(ROOT, "test", "fixtures", "skills", "server.ts");
export const BUN = realpathSync(process.execPath);

/** A tier 1 skill running the fixture server with Bun inside the sandbox: Bun, the fixture and node_modules bound read-only. */
export function stdioSkill(name: string, extra: Record<string, unknown> = {}, args: string[] = []) {
  return {
    name,
    description: `the ${name} test server`,
    tier: 1,
    command: [BUN, FIXTURE, ...args],
    env: { BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" },
    paths: [{ path: join(ROOT, "node_modules") }, { path: join(ROOT, "test", "fixtures", "skills") }, ...(BUN.startsWith(join(ROOT, "node_modules")) ? [] : [{ path: BUN }])],
    timeoutMs: 20_000,
    ...extra,
  };
}
