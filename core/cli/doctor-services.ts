import type { Config } from "../config/index.ts";
import { embedderFrom } from "../memory/embed/index.ts";
import { coreAuth, natsExposure } from "../nats/client.ts";
import type { Check } from "./doctor.ts";

const ms = (t0: number) => `${Math.round(performance.now() - t0)} ms`;

/** Reachability of what the areas talk to, each only when configured: NATS, the embedder, Qdrant. */
export async function serviceChecks(config: Config): Promise<Check[]> {
  const checks: Check[] = [];

  if (config.nats.url) checks.push(...(await natsChecks(config)));

  const embedder = await embedderFrom(config);
  if (embedder) {
    const t0 = performance.now();
    try {
      const [v] = await embedder.embedBatch(["bakerst doctor"], "query", AbortSignal.timeout(10_000));
      checks.push({ ok: true, name: "embeddings", detail: `${embedder.provider} ${embedder.model}: ${v?.length ?? 0} dimensions in ${ms(t0)}` });
    } catch (err) {
      checks.push({
        ok: false,
        name: "embeddings",
        detail: `${embedder.provider} ${embedder.model}: ${(err as Error).message}`,
        fix:
          embedder.provider === "voyage"
            ? "check VOYAGE_API_KEY, VOYAGE_BASE_URL and VOYAGE_MODEL; memory falls back to keyword search meanwhile"
            : "check that the server at EMBEDDINGS_BASE_URL runs and serves EMBEDDINGS_MODEL (for Ollama: ollama pull nomic-embed-text)",
      });
    }
  }

  if (config.qdrant.url) {
    const t0 = performance.now();
    try {
      const { QdrantClient } = await import("@qdrant/js-client-rest");
      const client = new QdrantClient({ url: config.qdrant.url, ...(config.qdrant.apiKey ? { apiKey: config.qdrant.apiKey } : {}), checkCompatibility: false, timeout: 8_000 });
      const { exists: ours } = await client.collectionExists(config.qdrant.collection);
      checks.push({ ok: true, name: "qdrant", detail: `${config.qdrant.url} reachable in ${ms(t0)}; collection ${config.qdrant.collection} ${ours ? "exists" : "will be created at start"}` });
    } catch (err) {
      checks.push({ ok: false, name: "qdrant", detail: `${config.qdrant.url}: ${(err as Error).message}`, fix: "check QDRANT_URL and QDRANT_API_KEY, or unset QDRANT_URL to keep vectors in SQLite" });
    }
  }
  return checks;
}

/** NATS reachable with the core's identity, and not open to clients without one (unless NATS_INSECURE). */
async function natsChecks(config: Config): Promise<Check[]> {
  const t0 = performance.now();
  const url = config.nats.url!;
  try {
    const { connect } = await import("@nats-io/transport-node");
    const nc = await connect({ servers: url, timeout: 5_000, ...(await coreAuth(config.nats)) });
    const { jetstreamManager } = await import("@nats-io/jetstream");
    const jsm = await jetstreamManager(nc);
    const info = await jsm.getAccountInfo();
    await nc.close();
    const reached: Check = { ok: true, name: "nats", detail: `${url} reachable in ${ms(t0)}, JetStream on (${info.streams} streams)` };
    const exposure = await natsExposure(config.nats);
    if (!exposure.open) return [reached, { ok: true, name: "nats auth", detail: `identity from ${config.nats.credsFile}; ${exposure.detail}` }];
    if (config.nats.insecure) return [reached, { ok: true, name: "nats auth", detail: `open NATS accepted because NATS_INSECURE=true: ${exposure.detail}` }];
    return [reached, { ok: false, name: "nats auth", detail: `${exposure.detail}; bakerst serve refuses an open NATS`, fix: exposure.fix }];
  } catch (err) {
    return [
      {
        ok: false,
        name: "nats",
        detail: `${url}: ${(err as Error).message}`,
        fix: "start nats-server with JetStream (-js), check NATS_URL and NATS_CREDS, or unset NATS_URL for edge mode",
      },
    ];
  }
}
