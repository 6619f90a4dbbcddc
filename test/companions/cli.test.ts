import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_FILE, natsInit } from "../../core/nats/init.ts";
import { serveApp, TOKEN, tempDir } from "../helpers/app.ts";
import { type ConfiguredNats, startNatsWithConfig } from "../helpers/nats.ts";

const root = join(import.meta.dir, "../..");
let dir: string;
let nats: ConfiguredNats;
let server: Awaited<ReturnType<typeof serveApp>>;

beforeAll(async () => {
  dir = tempDir("bakerst-companion-cli-");
  natsInit({ dir, version: "test" });
  nats = await startNatsWithConfig(join(dir, CONFIG_FILE));
  server = await serveApp({ NATS_URL: nats.url, NATS_CREDS: join(dir, "creds", "core.nk") });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(...args: string[]) {
  const p = Bun.spawn([process.execPath, join(root, "core/main.ts"), "companion", ...args, "--server", server.url, "--token", TOKEN], {
    cwd: tempDir("bakerst-cwd-"),
    env: { PATH: "/usr/bin:/bin", BAKERST_DATA_DIR: join(tempDir("bakerst-cli-"), "data") },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { stdout, stderr, code };
}

describe("bakerst companion", () => {
  test("add prints the one install command with the bundle; list shows it; remove revokes it; a second remove says so", async () => {
    const add = await cli("add", "nas");
    expect(add.stderr).toBe("");
    expect(add.code).toBe(0);
    const command = /sudo sh install\.sh --binary \.\/bakerst-satellite --bundle ([A-Za-z0-9_-]+)/.exec(add.stdout);
    expect(command).not.toBeNull();
    const bundle = JSON.parse(Buffer.from(command![1]!, "base64url").toString()) as { id: string; natsUrl: string; corePublicKey: string; seed: string };
    expect(bundle).toMatchObject({ id: "nas", natsUrl: nats.url });
    expect(bundle.seed).toMatch(/^SU/);
    expect((await cli("list")).stdout).toMatch(/^nas\tnever_seen\t/m);
    const again = await cli("add", "nas");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already paired");
    const remove = await cli("remove", "nas");
    expect(remove.code).toBe(0);
    expect(remove.stdout).toContain("Revoked nas");
    expect((await cli("list")).stdout).toMatch(/^nas\trevoked\t/m);
    const twice = await cli("remove", "nas");
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain("already revoked");
  });

  test("names that cannot be a companion are refused with the reason: a built-in target, a subject wildcard", async () => {
    for (const [name, why] of [
      ["local", "built-in task target"],
      ["nas.*", "letters, digits"],
    ] as const) {
      const r = await cli("add", name);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(why);
    }
    expect((await cli("list")).stdout).not.toContain("local");
  });
});
