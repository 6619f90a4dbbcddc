import { VoyageAIClient, VoyageAIError, VoyageAITimeoutError } from "voyageai";
import { type Embedder, EmbedError, type InputKind } from "../types.ts";

export interface VoyageOptions {
  apiKey: string;
  /** The API root including /v1, as the SDK takes it; default https://api.voyageai.com/v1. */
  baseURL?: string;
  model: string;
  timeoutMs?: number;
}

/** Voyage AI through its own SDK; retries are ours (ResilientEmbedder), so the SDK's are off. */
export class VoyageEmbedder implements Embedder {
  readonly provider = "voyage" as const;
  readonly model: string;
  /** Voyage takes at most 128 texts a call. */
  readonly maxBatch = 128;
  private client: VoyageAIClient;

  constructor(opts: VoyageOptions) {
    this.model = opts.model;
    this.client = new VoyageAIClient({
      apiKey: opts.apiKey,
      ...(opts.baseURL ? { baseUrl: opts.baseURL } : {}),
      maxRetries: 0,
      timeoutInSeconds: Math.ceil((opts.timeoutMs ?? 30_000) / 1000),
    });
  }

  async embedBatch(texts: string[], kind: InputKind, signal?: AbortSignal): Promise<Float32Array[]> {
    let res;
    try {
      res = await this.client.embed({ input: texts, model: this.model, inputType: kind, truncation: true }, { abortSignal: signal, maxRetries: 0 });
    } catch (err) {
      if (err instanceof VoyageAITimeoutError) throw new EmbedError(`voyage: timed out`, true);
      if (err instanceof VoyageAIError) {
        const status = err.statusCode;
        const detail = typeof err.body === "object" && err.body && "detail" in err.body ? String((err.body as { detail: unknown }).detail) : err.message;
        throw new EmbedError(`voyage${status ? ` ${status}` : ""}: ${detail}`, status === undefined || status === 429 || status >= 500, status);
      }
      throw new EmbedError(`voyage: ${(err as Error)?.message ?? String(err)}`, true);
    }
    return ordered(res.data ?? [], texts.length, "voyage");
  }
}

/** Puts embeddings back in input order and checks the answer is whole. */
export function ordered(items: { embedding?: number[] | string; index?: number }[], expected: number, who: string): Float32Array[] {
  if (items.length !== expected) throw new EmbedError(`${who}: asked for ${expected} embeddings, got ${items.length}`, false);
  const out: Float32Array[] = new Array(expected);
  items.forEach((item, i) => {
    const at = item.index ?? i;
    const e = item.embedding;
    if (!Array.isArray(e) || e.length === 0 || at < 0 || at >= expected) throw new EmbedError(`${who}: malformed embedding at ${i}`, false);
    out[at] = Float32Array.from(e);
  });
  const dim = out[0]!.length;
  if (out.some((v) => !v || v.length !== dim)) throw new EmbedError(`${who}: embeddings of mixed sizes`, false);
  return out;
}
