/**
 * An OpenAI-compatible POST /v1/embeddings (what Ollama, vLLM and llama.cpp
 * serve) for the real `openai` SDK through EMBEDDINGS_BASE_URL. The SDK asks
 * for base64 by default; both float and base64 encodings are answered.
 */
import type { Server } from "bun";
import { VectorBook } from "./embedding-vectors.ts";

export interface OpenAIEmbeddingsStandIn {
  url: string;
  baseURL: string;
  book: VectorBook;
  stop(): Promise<void>;
}

export function startOpenAIEmbeddingsStandIn(dims: Record<string, number> = { "nomic-embed-text": 768 }): OpenAIEmbeddingsStandIn {
  const book = new VectorBook(dims);
  const error = (status: number, message: string) => Response.json({ error: { message, type: "invalid_request_error", param: null, code: null } }, { status });
  const server: Server<unknown> = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method !== "POST" || url.pathname !== "/v1/embeddings") return error(404, `no route ${url.pathname}`);
      let body: { input?: unknown; model?: unknown; encoding_format?: unknown };
      try {
        body = (await request.json()) as typeof body;
      } catch {
        return error(400, "body is not JSON");
      }
      const input = typeof body.input === "string" ? [body.input] : body.input;
      if (!Array.isArray(input) || !input.length || !input.every((s) => typeof s === "string")) return error(400, "'input' must be a string or an array of strings");
      if (typeof body.model !== "string") return error(400, "'model' is required");
      const dim = book.dimension(body.model);
      if (!dim) return error(404, `model "${body.model}" not found, try pulling it first`);
      if (body.encoding_format !== undefined && body.encoding_format !== "float" && body.encoding_format !== "base64")
        return error(400, "'encoding_format' must be float or base64");
      book.calls.push({ texts: input as string[], model: body.model, encoding: (body.encoding_format as string | undefined) ?? "float" });
      const data = (input as string[]).map((t, index) => {
        const v = book.vector(t, dim);
        const embedding = body.encoding_format === "base64" ? Buffer.from(Float32Array.from(v).buffer).toString("base64") : v;
        return { object: "embedding", index, embedding };
      });
      const tokens = (input as string[]).reduce((n, t) => n + Math.ceil(t.length / 4), 0);
      return Response.json({ object: "list", data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  return { url, baseURL: `${url}/v1`, book, stop: () => server.stop(true) };
}
