import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "../../build.ts";
import { TOKEN, tempDir } from "../helpers/app.ts";
import { startVoyageStandIn, type VoyageStandIn } from "../standins/voyage.ts";

let voyage: VoyageStandIn;
let out: string;
let data: string;
let proc: ReturnType<typeof Bun.spawn> | undefined;

beforeAll(async () => {
  voyage = startVoyageStandIn();
  out = tempDir("bakerst-bin-");
  data = tempDir("bakerst-bin-data-");
  await build({ outdir: out, targets: ["bakerst"] });
}, 60_000);
afterAll(async () => {
  proc?.kill();
  await proc?.exited;
  await voyage.stop();
  rmSync(out, { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
});

function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

describe("the compiled bakerst binary", () => {
  test("loads sqlite-vec from inside itself and answers memory searches by vector", async () => {
    const port = freePort();
    proc = Bun.spawn([join(out, "bakerst"), "serve"], {
      cwd: "/",
      env: { PATH: "/usr/bin:/bin", BAKERST_DATA_DIR: data, AUTH_TOKEN: TOKEN, HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "warn", VOYAGE_API_KEY: "vk", VOYAGE_BASE_URL: voyage.baseURL },
      stdout: "pipe",
      stderr: "pipe",
    });
    const base = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    let memory: any;
    for (let i = 0; i < 200; i++) {
      try {
        const res = await fetch(`${base}/api/system/health`, { headers: auth });
        memory = ((await res.json()) as any).components.memory;
        if (memory?.state === "ready") break;
      } catch {
        // not listening yet
      }
      await Bun.sleep(50);
    }
    expect(memory).toMatchObject({ state: "ready", store: "sqlite", dimension: 1024, mode: "hybrid" });
    const stored = (await (await fetch(`${base}/api/memories`, { method: "POST", headers: auth, body: JSON.stringify({ text: "The owner's drone is a DJI Mini 4 Pro", category: "gear" }) })).json()) as any;
    const found = (await (await fetch(`${base}/api/memories/search?q=${encodeURIComponent("which DJI drone")}`, { headers: auth })).json()) as any;
    expect(found.mode).toBe("hybrid");
    expect(found.results[0]).toMatchObject({ id: stored.id, category: "gear" });
    expect(found.results[0].score).toBeGreaterThan(0.5);
  }, 30_000);
});
