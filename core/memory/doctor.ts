import { type Check, elapsed } from "../cli/check.ts";
import type { Config } from "../config/index.ts";
import { embedderFrom } from "./embed/index.ts";
import { memoryKeys } from "./keys.ts";

/** `bakerst doctor` lines for memory: the embedder and Qdrant, each only when configured. */
export async function memoryChecks(config: Config): Promise<Check[]> {
  const m = config.read(memoryKeys);
  const checks: Check[] = [];
  const embedder = await embedderFrom(m, config.openai.apiKey);
  if (embedder) {
    const t0 = performance.now();
    try {
      const [v] = await embedder.embedBatch(["bakerst doctor"], "query", AbortSignal.timeout(10_000));
      checks.push({ ok: true, name: "embeddings", detail: `${embedder.provider} ${embedder.model}: ${v?.length ?? 0} dimensions in ${elapsed(t0)}` });
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
  if (m.QDRANT_URL) {
    const t0 = performance.now();
    try {
      const { QdrantClient } = await import("@qdrant/js-client-rest");
      const client = new QdrantClient({ url: m.QDRANT_URL, ...(m.QDRANT_API_KEY ? { apiKey: m.QDRANT_API_KEY } : {}), checkCompatibility: false, timeout: 8_000 });
      const { exists: ours } = await client.collectionExists(m.QDRANT_COLLECTION);
      checks.push({
        ok: true,
        name: "qdrant",
        detail: `${m.QDRANT_URL} reachable in ${elapsed(t0)}; collection ${m.QDRANT_COLLECTION} ${ours ? "exists" : "will be created at start"}`,
      });
    } catch (err) {
      checks.push({
        ok: false,
        name: "qdrant",
        detail: `${m.QDRANT_URL}: ${(err as Error).message}`,
        fix: "check QDRANT_URL and QDRANT_API_KEY, or unset QDRANT_URL to keep vectors in SQLite",
      });
    }
  }
  return checks;
}
