import type { Config } from "../../config/index.ts";
import type { Embedder } from "../types.ts";

/**
 * Voyage when VOYAGE_API_KEY is set, else an OpenAI-compatible server at EMBEDDINGS_BASE_URL, else none (keywords only).
 * Each client is imported only when configured: an install without embeddings never loads them.
 */
export async function embedderFrom(config: Config): Promise<Embedder | null> {
  if (config.voyage.apiKey) {
    const { VoyageEmbedder } = await import("./voyage.ts");
    return new VoyageEmbedder({ apiKey: config.voyage.apiKey, baseURL: config.voyage.baseURL, model: config.voyage.model });
  }
  if (config.embeddings.baseURL) {
    const { OpenAIEmbedder } = await import("./openai.ts");
    return new OpenAIEmbedder({ baseURL: config.embeddings.baseURL, apiKey: config.embeddings.apiKey, model: config.embeddings.model });
  }
  return null;
}
