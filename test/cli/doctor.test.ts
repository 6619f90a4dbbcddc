import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AREAS } from "../../core/areas.ts";
import { formatChecks, runDoctor } from "../../core/cli/doctor.ts";
import { testConfig } from "../helpers/app.ts";
import { type NatsServer, startNats } from "../helpers/nats.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { type QdrantStandIn, startQdrantStandIn } from "../standins/qdrant.ts";
import { startVoyageStandIn, type VoyageStandIn } from "../standins/voyage.ts";

let nats: NatsServer;
let model: AnthropicStandIn;
let voyage: VoyageStandIn;
let qdrant: QdrantStandIn;

beforeAll(async () => {
  nats = await startNats();
  model = startAnthropicStandIn();
  voyage = startVoyageStandIn({ apiKey: "vk-test" });
  qdrant = startQdrantStandIn();
}, 30_000);
afterAll(async () => {
  await nats.cleanup();
  await model.stop();
  await voyage.stop();
  await qdrant.stop();
});

const services = { ANTHROPIC_API_KEY: "sk-test", VOYAGE_API_KEY: "vk-test" };

describe("bakerst doctor", () => {
  test("checks NATS, the embedder and Qdrant when they are configured", async () => {
    const checks = await runDoctor(
      testConfig({ ...services, ANTHROPIC_BASE_URL: model.url, NATS_URL: nats.url, NATS_INSECURE: "true", VOYAGE_BASE_URL: voyage.baseURL, QDRANT_URL: qdrant.url }),
      AREAS,
    );
    const out = formatChecks(checks);
    expect(out).toContain(`✓ nats: ${nats.url} reachable`);
    expect(out).toContain("✓ nats auth: open NATS accepted because NATS_INSECURE=true");
    expect(out).toContain("JetStream on");
    expect(out).toMatch(/✓ embeddings: voyage voyage-3\.5-lite: 1024 dimensions/);
    expect(out).toContain(`✓ qdrant: ${qdrant.url} reachable`);
    expect(checks.every((c) => c.ok)).toBe(true);
  }, 30_000);

  test("each one that is down is a ✗ with what to do", async () => {
    voyage.down = true;
    try {
      const checks = await runDoctor(
        testConfig({ ...services, ANTHROPIC_BASE_URL: model.url, NATS_URL: "nats://127.0.0.1:9", VOYAGE_BASE_URL: voyage.baseURL, QDRANT_URL: "http://127.0.0.1:9" }),
        AREAS,
      );
      const out = formatChecks(checks);
      expect(out).toContain("✗ nats: nats://127.0.0.1:9");
      expect(out).toContain("fix: start nats-server with JetStream");
      expect(out).toContain("✗ embeddings: voyage");
      expect(out).toContain("fix: check VOYAGE_API_KEY");
      expect(out).toContain("✗ qdrant: http://127.0.0.1:9");
      expect(out).toContain("fix: check QDRANT_URL");
    } finally {
      voyage.down = false;
    }
  }, 60_000);

  test("services that are not configured are not checked", async () => {
    const names = (await runDoctor(testConfig({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url }), AREAS)).map((c) => c.name);
    expect(names).not.toContain("nats");
    expect(names).not.toContain("embeddings");
    expect(names).not.toContain("qdrant");
  });
});
