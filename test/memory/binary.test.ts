import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TOKEN } from "../helpers/app.ts";
import { type RunningBinary, startBinary } from "../helpers/binary.ts";
import { waitFor } from "../helpers/nats.ts";
import { startVoyageStandIn, type VoyageStandIn } from "../standins/voyage.ts";

let voyage: VoyageStandIn;
let app: RunningBinary | undefined;

beforeAll(() => {
  voyage = startVoyageStandIn();
});
afterAll(async () => {
  await app?.stop();
  await voyage.stop();
});

describe("the compiled bakerst binary", () => {
  test("loads sqlite-vec from inside itself and answers memory searches by vector", async () => {
    app = await startBinary({ AUTH_TOKEN: TOKEN, VOYAGE_API_KEY: "vk", VOYAGE_BASE_URL: voyage.baseURL });
    const base = app.url;
    const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const memory = await waitFor("vector memory to be ready", async () => {
      const m = ((await (await fetch(`${base}/api/system/health`, { headers: auth })).json()) as any).components.memory;
      return m?.state === "ready" ? m : undefined;
    });
    expect(memory).toMatchObject({ state: "ready", store: "sqlite", dimension: 1024, mode: "hybrid" });
    const stored = (await (
      await fetch(`${base}/api/memories`, { method: "POST", headers: auth, body: JSON.stringify({ text: "The owner's drone is a DJI Mini 4 Pro", category: "gear" }) })
    ).json()) as any;
    const found = (await (await fetch(`${base}/api/memories/search?q=${encodeURIComponent("which DJI drone")}`, { headers: auth })).json()) as any;
    expect(found.mode).toBe("hybrid");
    expect(found.results[0]).toMatchObject({ id: stored.id, category: "gear" });
    expect(found.results[0].score).toBeGreaterThan(0.5);
  }, 90_000);
});
