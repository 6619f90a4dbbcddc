import { readFileSync } from "node:fs";
import type { Config } from "../config/index.ts";
import { edgeSandbox } from "../jobs/edge.ts";
import { embedderFrom } from "../memory/embed/index.ts";
import type { Check } from "./doctor.ts";

const ms = (t0: number) => `${Math.round(performance.now() - t0)} ms`;

/** The sandbox edge-mode command jobs run in: tried for real, as the jobs area does at start. */
function sandboxCheck(config: Config): Check {
  const { mode, status } = edgeSandbox(config);
  if (mode === "off") return { ok: true, name: "sandbox", detail: `COMMAND_SANDBOX=off: command jobs run without a sandbox (${status.ok ? "bubblewrap would work here" : status.detail})` };
  return status.ok
    ? { ok: true, name: "sandbox", detail: status.detail }
    : { ok: false, name: "sandbox", detail: `${status.detail}; command jobs are refused`, ...(status.fix ? { fix: status.fix } : {}) };
}

/** Reachability of what the areas talk to, each only when configured: NATS, the embedder, Qdrant; and the command sandbox in edge mode. */
export async function serviceChecks(config: Config): Promise<Check[]> {
  const checks: Check[] = [];
  if (!config.nats.url && config.jobs.edgeWorker) checks.push(sandboxCheck(config));

  if (config.nats.url) {
    const t0 = performance.now();
    try {
      const { connect, credsAuthenticator } = await import("@nats-io/transport-node");
      const nc = await connect({
        servers: config.nats.url,
        timeout: 5_000,
        ...(config.nats.credsFile ? { authenticator: credsAuthenticator(readFileSync(config.nats.credsFile)) } : {}),
      });
      const { jetstreamManager } = await import("@nats-io/jetstream");
      const jsm = await jetstreamManager(nc);
      const info = await jsm.getAccountInfo();
      await nc.close();
      checks.push({ ok: true, name: "nats", detail: `${config.nats.url} reachable in ${ms(t0)}, JetStream on (${info.streams} streams)` });
    } catch (err) {
      checks.push({
        ok: false,
        name: "nats",
        detail: `${config.nats.url}: ${(err as Error).message}`,
        fix: "start nats-server with JetStream (-js), check NATS_URL and NATS_CREDS, or unset NATS_URL for edge mode",
      });
    }
  }

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
