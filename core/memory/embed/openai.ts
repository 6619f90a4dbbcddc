import OpenAI from "openai";
import { type Embedder, EmbedError, type InputKind } from "../types.ts";
import { ordered } from "./voyage.ts";

export interface OpenAIEmbedOptions {
  /** Root of an OpenAI-compatible API including /v1 (Ollama: http://localhost:11434/v1). */
  baseURL: string;
  apiKey?: string;
  model: string;
  timeoutMs?: number;
}

/** Any server with OpenAI's /v1/embeddings (Ollama, vLLM, llama.cpp, OpenAI itself). */
export class OpenAIEmbedder implements Embedder {
  readonly provider = "openai" as const;
  readonly model: string;
  readonly maxBatch = 64;
  private client: OpenAI;

  constructor(opts: OpenAIEmbedOptions) {
    this.model = opts.model;
    // Local servers often want no key, but the SDK insists on one.
    this.client = new OpenAI({ baseURL: opts.baseURL, apiKey: opts.apiKey ?? "none", maxRetries: 0, timeout: opts.timeoutMs ?? 30_000 });
  }

  // The endpoint has no query/document distinction; models that want prefixes get them from the owner's EMBEDDINGS_MODEL choice.
  async embedBatch(texts: string[], _kind: InputKind, signal?: AbortSignal): Promise<Float32Array[]> {
    let res;
    try {
      res = await this.client.embeddings.create({ model: this.model, input: texts }, { signal });
    } catch (err) {
      if (err instanceof OpenAI.APIError) {
        const status = err.status;
        throw new EmbedError(`embeddings${status ? ` ${status}` : ""}: ${err.message}`, status === undefined || status === 429 || status >= 500, status);
      }
      throw new EmbedError(`embeddings: ${(err as Error)?.message ?? String(err)}`, true);
    }
    return ordered(res.data, texts.length, "embeddings");
  }
}
