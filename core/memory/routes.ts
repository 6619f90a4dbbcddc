import { and, desc, eq, isNull, lt } from "drizzle-orm";
import { Elysia, t } from "elysia";
import { readText } from "../api/body.ts";
import { QueryText, queryInt } from "../api/query.ts";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import { observations, reflections } from "./memory.sql.ts";
import type { MemoryService } from "./service.ts";
import { exportLines, importLines, parseImport } from "./transfer.ts";
import { CATEGORIES, type Category, isCategory } from "./types.ts";

function category(raw: string | undefined, field = "category"): Category | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!isCategory(raw)) throw new AppError("invalid_request", `${field}: expected one of ${CATEGORIES.join(", ")}, got ${JSON.stringify(raw)}`);
  return raw;
}

function flag(raw: string | undefined, field: string): boolean {
  if (raw === undefined || raw === "" || raw === "false") return false;
  if (raw === "true") return true;
  throw new AppError("invalid_request", `${field}: expected true or false, got ${JSON.stringify(raw)}`);
}

export const memoryRoutes = (memory: MemoryService, changed: () => void) => (s: Services) =>
  new Elysia({ name: "memory" })
    .get(
      "/api/memories",
      ({ query }) => memory.list({ category: category(query.category), limit: queryInt(query.limit, "limit", 1, 500, 50), offset: queryInt(query.offset, "offset", 0, 1e9, 0) }),
      { query: t.Object({ category: QueryText, limit: QueryText, offset: QueryText }) },
    )
    .get(
      "/api/memories/search",
      async ({ query }) => {
        const q = query.q?.trim() ?? "";
        if (!q) throw new AppError("invalid_request", "q: expected a search text, got nothing");
        if (q.length > 1000) throw new AppError("invalid_request", `q: expected at most 1000 characters, got ${q.length}`);
        return memory.search(q, { category: category(query.category), limit: queryInt(query.limit, "limit", 1, 100, 10) });
      },
      { query: t.Object({ q: t.Optional(t.String({ maxLength: 2000 })), category: QueryText, limit: QueryText }) },
    )
    .post(
      "/api/memories",
      async ({ body }) => {
        // The service checks text and category and names the field (category with the allowed values).
        const r = await memory.store({ text: body.text, category: body.category, source: "owner" });
        changed();
        return r;
      },
      {
        body: t.Object(
          {
            text: t.String(),
            category: t.String({ maxLength: 64 }),
          },
          { additionalProperties: false },
        ),
      },
    )
    .patch(
      "/api/memories/:id",
      async ({ params, body }) => {
        const r = await memory.recategorize(params.id, body.category);
        changed();
        return r;
      },
      { params: t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) }), body: t.Object({ category: t.String({ maxLength: 64 }) }, { additionalProperties: false }) },
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
        const lines = exportLines(s.store.db, memory.vectors, flag(query.vectors, "vectors"));
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
      { query: t.Object({ vectors: QueryText }) },
    )
    // JSON lines are not one JSON document, so the body is read here (same size cap) rather than by the API's JSON parser.
    .post("/api/memories/import", async ({ request }) => {
      if (!request.headers.get("content-type")?.startsWith("application/x-ndjson")) {
        throw new AppError("unsupported_media_type", "body: send JSON lines with content-type application/x-ndjson (what GET /api/memories/export returns)");
      }
      const lines = parseImport(await readText(request, s.config.maxBodyBytes));
      if (!lines.length) throw new AppError("invalid_request", "body: no memories to import (expected JSON lines, one memory object per line)");
      const r = await importLines(s.store.db, memory.vectors, lines, s.log);
      changed();
      return r;
    })
    .get(
      "/api/memories/observations",
      ({ query }) => {
        const limit = queryInt(query.limit, "limit", 1, 500, 50);
        const before = queryInt(query.before, "before", 0, Number.MAX_SAFE_INTEGER);
        const rows = s.store.db
          .select()
          .from(observations)
          .where(
            and(
              query.conversationId ? eq(observations.conversationId, query.conversationId) : undefined,
              before !== undefined ? lt(observations.createdAt, before) : undefined,
              flag(query.unreflected, "unreflected") ? isNull(observations.reflectionId) : undefined,
            ),
          )
          .orderBy(desc(observations.createdAt), desc(observations.id))
          .limit(limit)
          .all();
        return { observations: rows, next: rows.length === limit ? rows.at(-1)!.createdAt : null };
      },
      {
        query: t.Object({ conversationId: t.Optional(t.String({ maxLength: 64 })), unreflected: QueryText, before: QueryText, limit: QueryText }),
      },
    )
    .get(
      "/api/memories/reflections",
      ({ query }) => {
        const limit = queryInt(query.limit, "limit", 1, 500, 50);
        const before = queryInt(query.before, "before", 0, Number.MAX_SAFE_INTEGER);
        const rows = s.store.db
          .select()
          .from(reflections)
          .where(before !== undefined ? lt(reflections.createdAt, before) : undefined)
          .orderBy(desc(reflections.createdAt), desc(reflections.id))
          .limit(limit)
          .all();
        return { reflections: rows, next: rows.length === limit ? rows.at(-1)!.createdAt : null };
      },
      {
        query: t.Object({ before: QueryText, limit: QueryText }),
      },
    );
