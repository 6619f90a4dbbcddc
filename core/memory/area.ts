import { defineArea } from "../area/types.ts";
import { memoryChecks } from "./doctor.ts";
import { embedderFrom } from "./embed/index.ts";
import { ResilientEmbedder } from "./embed/resilient.ts";
import { memoryKeys } from "./keys.ts";
import { KeywordIndex } from "./keywords.ts";
import { Observer } from "./observer.ts";
import { MemoryPrompt } from "./prompt.ts";
import { Reflector } from "./reflector.ts";
import { memoryRoutes } from "./routes.ts";
import { MemoryService } from "./service.ts";
import { SqliteVectorStore } from "./store/sqlite.ts";
import { registerMemoryTools } from "./tools.ts";
import type { VectorStore } from "./types.ts";
import { VectorIndex } from "./vectors.ts";

/** Long-term memory: vector + keyword store, tools, prompt layers, observer and reflector, API. */
export const memoryArea = defineArea({
  name: "memory",
  config: { keys: memoryKeys },
  doctor: memoryChecks,
  async start(s) {
    const { log } = s;
    const m = s.config.read(memoryKeys);
    const provider = await embedderFrom(m, s.config.openai.apiKey);
    const embedder = provider ? new ResilientEmbedder(provider, log) : null;
    let store: VectorStore | null = null;
    if (embedder) {
      store = m.QDRANT_URL
        ? new (await import("./store/qdrant.ts")).QdrantVectorStore({ url: m.QDRANT_URL, apiKey: m.QDRANT_API_KEY, collection: m.QDRANT_COLLECTION })
        : new SqliteVectorStore(s.store.sqlite);
    }
    const vectors = new VectorIndex(s.store.db, store, embedder, log);
    const memory = new MemoryService(s.store.db, vectors, new KeywordIndex(s.store.sqlite), log);
    const prompt = new MemoryPrompt(s.store.db, memory, m.MEMORY_PROMPT_TOKENS, log);
    const changed = () => prompt.invalidate();
    const reflector = new Reflector({ db: s.store.db, router: s.models.router, log, thresholdChars: m.REFLECTOR_THRESHOLD_CHARS });
    const observer = new Observer({ db: s.store.db, conversations: s.conversations, router: s.models.router, log, thresholdChars: m.OBSERVER_THRESHOLD_CHARS, reflector });

    registerMemoryTools(s.tools, memory, changed);
    s.prompt.contribute("reflections", () => prompt.reflections(), { layer: "long" });
    s.prompt.contribute("memory", (ctx) => prompt.section(ctx.conversationId, ctx.userMessage, ctx.signal), { layer: "turn" });
    s.compactor.summarizer = observer;
    s.brain.onTurnDone((r) => observer.onTurn(r));
    s.health.register("memory", () => {
      const v = vectors.health();
      const base = { memories: memory.count(), ...v, observer: observer.lastRun, reflector: reflector.lastRun };
      if (!embedder) return { status: "ok", mode: "keywords", detail: "no embedder configured; memory searches by keywords", ...base };
      if (v.state === "starting") return { status: "ok", mode: "keywords", detail: "asking the embedding model for its vector size; keywords answer meanwhile", ...base };
      if (v.state !== "ready" || !embedder.available() || v.storeError) {
        return {
          status: "degraded",
          mode: "keywords",
          detail: `the ${v.storeError ? "vector store" : v.state === "ready" ? "embedding API" : "vector store or embedding API"} is failing; memory keeps answering from keywords`,
          fix: `check ${provider!.provider === "voyage" ? "VOYAGE_API_KEY / VOYAGE_BASE_URL" : "EMBEDDINGS_BASE_URL"}${m.QDRANT_URL ? " and QDRANT_URL" : ""}; run bakerst doctor`,
          ...base,
        };
      }
      return { status: "ok", mode: "hybrid", ...(v.reembedding ? { detail: `re-embedding memories for ${embedder.model}; keywords cover the rest meanwhile` } : {}), ...base };
    });

    // Learning the embedding model's size calls the provider; the app answers (from keywords) meanwhile.
    const started = vectors.start();
    s.routes(memoryRoutes(memory, changed));
    s.onStop(async () => {
      await observer.close();
      await reflector.close();
      await vectors.close();
      await started;
    });
  },
});
