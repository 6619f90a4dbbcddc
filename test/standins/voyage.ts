/**
 * Voyage AI's embeddings API (POST /v1/embeddings) for the real `voyageai`
 * SDK through VOYAGE_BASE_URL (= this url + "/v1"). Vectors come from a
 * VectorBook; `failNext`/`down` script failures.
 */
import type { Server } from "bun";
import { VectorBook } from "./embedding-vectors.ts";

export interface VoyageStandIn {
  url: string;
  /** What to set VOYAGE_BASE_URL to. */
  baseURL: string;
  book: VectorBook;
  /** Answer the next n calls with this status. */
  failNext(n: number, status?: number): void;
  /** While true every call fails with 503. */
  down: boolean;
  stop(): Promise<void>;
}

export const VOYAGE_DIMS: Record<string, number> = { "voyage-3.5-lite": 1024, "voyage-3.5": 1024, "voyage-3-lite": 512, "voyage-3-large": 1024 };

export function startVoyageStandIn(opts: { apiKey?: string } = {}): VoyageStandIn {
  const book = new VectorBook(VOYAGE_DIMS);
  let failing: { n: number; status: number } = { n: 0, status: 500 };
  const state = { down: false };
  const error = (status: number, detail: string) => Response.json({ detail }, { status });
  const server: Server<unknown> = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method !== "POST" || url.pathname !== "/v1/embeddings") return error(404, "Not Found");
      if (opts.apiKey && request.headers.get("authorization") !== `Bearer ${opts.apiKey}`) return error(401, "Provided API key is invalid.");
      if (state.down) return error(503, "Service unavailable");
      if (failing.n > 0) {
        failing.n--;
        return error(failing.status, failing.status === 429 ? "Rate limit exceeded" : "Internal server error");
      }
      let body: { input?: unknown; model?: unknown; input_type?: unknown; output_dimension?: unknown };
      try {
        body = (await request.json()) as typeof body;
      } catch {
        return error(400, "Request body is not valid JSON");
      }
      const input = typeof body.input === "string" ? [body.input] : body.input;
      if (!Array.isArray(input) || !input.length || !input.every((s) => typeof s === "string")) return error(400, "input: expected a string or a non-empty list of strings");
      if (input.length > 1000) return error(400, "input: list is longer than 1000");
      if (typeof body.model !== "string") return error(400, "model: field required");
      const dim = book.dimension(body.model);
      if (!dim) return error(400, `Model ${body.model} is not supported.`);
      if (body.input_type !== undefined && body.input_type !== null && body.input_type !== "query" && body.input_type !== "document") {
        return error(400, "input_type: expected query, document or null");
      }
      book.calls.push({ texts: input as string[], model: body.model, inputType: body.input_type as string | null | undefined });
      const data = (input as string[]).map((t, index) => ({ object: "embedding", embedding: book.vector(t, dim), index }));
      const tokens = (input as string[]).reduce((n, t) => n + Math.ceil(t.length / 4), 0);
      return Response.json({ object: "list", data, model: body.model, usage: { total_tokens: tokens } });
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    book,
    failNext: (n, status = 500) => (failing = { n, status }),
    get down() {
      return state.down;
    },
    set down(v: boolean) {
      state.down = v;
    },
    stop: () => server.stop(true),
  };
}
