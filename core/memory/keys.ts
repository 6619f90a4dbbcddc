import { defineKeys, type KeyValues } from "../config/keys.ts";

/** The memory area's settings: embeddings, the vector store, and how much memory goes into prompts. */
export const memoryKeys = defineKeys({
  VOYAGE_API_KEY: { kind: "secret", help: "Voyage AI key for embeddings" },
  VOYAGE_BASE_URL: { kind: "url", help: "Voyage API root including /v1 (default https://api.voyageai.com/v1)" },
  VOYAGE_MODEL: { kind: "string", default: "voyage-3.5-lite", help: "Voyage embedding model" },
  EMBEDDINGS_BASE_URL: { kind: "url", help: "OpenAI-compatible embeddings server, e.g. http://localhost:11434/v1 (used when VOYAGE_API_KEY is unset)" },
  EMBEDDINGS_API_KEY: { kind: "secret", help: "API key for the embeddings server (defaults to OPENAI_API_KEY)" },
  EMBEDDINGS_MODEL: { kind: "string", default: "nomic-embed-text", help: "model for the OpenAI-compatible embeddings server" },
  QDRANT_URL: { kind: "url", help: "Qdrant; unset keeps memory in SQLite" },
  QDRANT_API_KEY: { kind: "secret", help: "Qdrant API key" },
  QDRANT_COLLECTION: { kind: "string", default: "bakerst_memories", help: "Qdrant collection holding memory vectors" },
  MEMORY_PROMPT_TOKENS: {
    kind: "int",
    min: 0,
    max: 32_000,
    default: "1200",
    help: "token budget for memories, observations and reflections in the system prompt (0 turns it off)",
  },
  OBSERVER_THRESHOLD_CHARS: { kind: "int", min: 200, max: 1_000_000, default: "6000", help: "unobserved conversation text that triggers the observer" },
  REFLECTOR_THRESHOLD_CHARS: { kind: "int", min: 200, max: 1_000_000, default: "8000", help: "unreflected observation text that triggers the reflector" },
});

export type MemorySettings = KeyValues<typeof memoryKeys>;
