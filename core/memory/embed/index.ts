import type { Config } from "../../config/index.ts";
import type { Embedder } from "../types.ts";
import { OpenAIEmbedder } from "./openai.ts";
import { VoyageEmbedder } from "./voyage.ts";

/** Voyage when VOYAGE_API_KEY is set, else an OpenAI-compatible server at EMBEDDINGS_BASE_URL, else none (keywords only). */
export function embedderFrom(config: Config): Embedder | null {
  if (config.voyage.apiKey) {
    return new VoyageEmbedder({ apiKey: config.voyage.apiKey, baseURL: config.voyage.baseURL, model: config.voyage.model });
  }
  if (config.embeddings.baseURL) {
    return new OpenAIEmbedder({ baseURL: config.embeddings.baseURL, apiKey: config.embeddings.apiKey, model: config.embeddings.model });
  }
  return null;
}
