import { desc, eq, isNull, and, lt } from "drizzle-orm";
import { Elysia, t } from "elysia";
import { PayloadTooLarge } from "../api/body.ts";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import { observations, reflections } from "./memory.sql.ts";
import type { MemoryService } from "./service.ts";
import { exportLines, importLines, parseImport } from "./transfer.ts";
import { CATEGORIES, MAX_TEXT_CHARS } from "./types.ts";

const categoryError = `category: expected one of ${CATEGORIES.join(", ")}`;
const Category = t.Union(
  CATEGORIES.map((c) => t.Literal(c)),
  { error: categoryError },
);

export const memoryRoutes = (memory: MemoryService, changed: () => void) => (s: Services) =>
  new Elysia({ name: "memory" })
    .get(
      "/api/memories",
      ({ query }) => memory.list({ category: query.category, limit: query.limit ?? 50, offset: query.offset ?? 0 }),
      {
        query: t.Object({
          category: t.Optional(Category),
          limit: t.Optional(t.Numeric({ minimum: 1, maximum: 500, error: "limit: expected an integer in 1..500" })),
          offset: t.Optional(t.Numeric({ minimum: 0, error: "offset: expected a non-negative integer" })),
        }),
      },
    )
    .get(
      "/api/memories/search",
      async ({ query }) => {
        if (!query.q.trim()) throw new AppError("invalid_request", "q: must not be blank", 400);
        return memory.search(query.q, { category: query.category, limit: query.limit ?? 10 });
      },
      {
        query: t.Object({
          q: t.String({ minLength: 1, maxLength: 1000, error: "q: expected a search text of 1..1000 characters" }),
          category: t.Optional(Category),
          limit: t.Optional(t.Numeric({ minimum: 1, maximum: 100, error: "limit: expected an integer in 1..100" })),
        }),
      },
    )
    .post(
      "/api/memories",
      async ({ body }) => {
        const r = await memory.store({ text: body.text, category: body.category, source: "owner" });
        changed();
        return r;
      },
      {
        body: t.Object(
          {
            text: t.String({ minLength: 1, maxLength: MAX_TEXT_CHARS, error: `text: expected a non-empty string of at most ${MAX_TEXT_CHARS} characters` }),
            category: Category,
          },
          { additionalProperties: false },
        ),
      },
    )
    .delete(
      "/api/memories/:id",
      async ({ params }) => {
        await memory.delete(params.id);
        changed();
        return { ok: true };
      },
      { params: t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) }) },
    )
    .get(
      "/api/memories/export",
      ({ query }) => {
        const lines = exportLines(s.store.db, memory.vectors, query.vectors === "true");
        const stream = new ReadableStream<Uint8Array>({
          async pull(c) {
            const next = await lines.next();
            if (next.done) c.close();
            else c.enqueue(new TextEncoder().encode(next.value));
          },
        });
        const day = new Date().toISOString().slice(0, 10);
        return new Response(stream, {
          headers: { "content-type": "application/x-ndjson; charset=utf-8", "content-disposition": `attachment; filename="bakerst-memories-${day}.jsonl"` },
        });
      },
      { query: t.Object({ vectors: t.Optional(t.Union([t.Literal("true"), t.Literal("false")], { error: "vectors: expected true or false" })) }) },
    )
    // JSON lines are not one JSON document, so the body is read here (same size cap) rather than by the API's JSON parser.
    .post("/api/memories/import", async ({ request }) => {
      if (!request.headers.get("content-type")?.startsWith("application/x-ndjson")) {
        throw new AppError("unsupported_media_type", "body: send JSON lines with content-type application/x-ndjson (what GET /api/memories/export returns)", 415);
      }
      const lines = parseImport(await readText(request, s.config.maxBodyBytes));
      if (!lines.length) throw new AppError("invalid_request", "body: no memories to import (expected JSON lines, one memory object per line)", 400);
      const r = await importLines(s.store.db, memory.vectors, lines, s.log);
      changed();
      return r;
    })
    .get(
      "/api/memories/observations",
      ({ query }) => {
        const limit = query.limit ?? 50;
        const rows = s.store.db
          .select()
          .from(observations)
          .where(
            and(
              query.conversationId ? eq(observations.conversationId, query.conversationId) : undefined,
              query.before !== undefined ? lt(observations.createdAt, query.before) : undefined,
              query.unreflected === "true" ? isNull(observations.reflectionId) : undefined,
            ),
          )
          .orderBy(desc(observations.createdAt), desc(observations.id))
          .limit(limit)
          .all();
        return { observations: rows, next: rows.length === limit ? rows.at(-1)!.createdAt : null };
      },
      {
        query: t.Object({
          conversationId: t.Optional(t.String({ minLength: 1, maxLength: 64 })),
          unreflected: t.Optional(t.Union([t.Literal("true"), t.Literal("false")])),
          before: t.Optional(t.Numeric({ minimum: 0 })),
          limit: t.Optional(t.Numeric({ minimum: 1, maximum: 500, error: "limit: expected an integer in 1..500" })),
        }),
      },
    )
    .get(
      "/api/memories/reflections",
      ({ query }) => {
        const limit = query.limit ?? 50;
        const rows = s.store.db
          .select()
          .from(reflections)
          .where(query.before !== undefined ? lt(reflections.createdAt, query.before) : undefined)
          .orderBy(desc(reflections.createdAt), desc(reflections.id))
          .limit(limit)
          .all();
        return { reflections: rows, next: rows.length === limit ? rows.at(-1)!.createdAt : null };
      },
      {
        query: t.Object({
          before: t.Optional(t.Numeric({ minimum: 0 })),
          limit: t.Optional(t.Numeric({ minimum: 1, maximum: 500, error: "limit: expected an integer in 1..500" })),
        }),
      },
    );

async function readText(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > limit) throw new PayloadTooLarge(limit);
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw new PayloadTooLarge(limit);
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
