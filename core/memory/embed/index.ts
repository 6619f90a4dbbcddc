import type { MemorySettings } from "../keys.ts";
import type { Embedder } from "../types.ts";

/**
 * Voyage when VOYAGE_API_KEY is set, else an OpenAI-compatible server at EMBEDDINGS_BASE_URL, else none (keywords only).
 * Each client is imported only when configured: an install without embeddings never loads them.
 */
export async function embedderFrom(m: MemorySettings, openaiApiKey: string | undefined): Promise<Embedder | null> {
  if (m.VOYAGE_API_KEY) {
    const { VoyageEmbedder } = await import("./voyage.ts");
    return new VoyageEmbedder({ apiKey: m.VOYAGE_API_KEY, baseURL: m.VOYAGE_BASE_URL, model: m.VOYAGE_MODEL });
  }
  if (m.EMBEDDINGS_BASE_URL) {
    const { OpenAIEmbedder } = await import("./openai.ts");
    return new OpenAIEmbedder({ baseURL: m.EMBEDDINGS_BASE_URL, apiKey: m.EMBEDDINGS_API_KEY ?? openaiApiKey, model: m.EMBEDDINGS_MODEL });
  }
  return null;
}
