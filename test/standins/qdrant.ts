/**
 * A local server that speaks Qdrant's REST API for exactly the endpoints
 * @qdrant/js-client-rest calls for memory: collections (exists, get, create,
 * delete, payload index) and points (upsert, delete, query, scroll, count).
 * Malformed requests get Qdrant's 400 with `{ status: { error }, time }`.
 */
import type { Server } from "bun";

interface Point {
  id: string | number;
  vector: number[];
  payload: Record<string, unknown>;
}

interface Collection {
  size: number;
  distance: string;
  points: Map<string, Point>;
  indexes: Record<string, string>;
}

export interface QdrantStandIn {
  url: string;
  collections: Map<string, Collection>;
  /** Every request seen, method and path. */
  requests: { method: string; path: string; body: unknown }[];
  stop(): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class QdrantError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const wrong = (message: string) => new QdrantError(400, `Wrong input: ${message}`);

function pointId(raw: unknown, where: string): string | number {
  if (typeof raw === "number" && Number.isInteger(raw) && raw >= 0) return raw;
  if (typeof raw === "string" && UUID.test(raw)) return raw.toLowerCase();
  throw new QdrantError(400, `Format error in JSON body: ${where}: value ${JSON.stringify(raw)} is not a valid point ID, valid values are either an unsigned integer or a UUID`);
}

const key = (id: string | number) => (typeof id === "number" ? `n:${String(id).padStart(20, "0")}` : `u:${id}`);

function normalise(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return n ? v.map((x) => x / n) : v;
}

type Condition = { key: string; match: { value: unknown } };

function parseFilter(raw: unknown): ((p: Point) => boolean) | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "object" || Array.isArray(raw)) throw new QdrantError(400, "Format error in JSON body: filter: expected an object");
  const f = raw as Record<string, unknown>;
  for (const k of Object.keys(f)) if (!["must", "should", "must_not"].includes(k)) throw new QdrantError(400, `Format error in JSON body: filter: unknown field \`${k}\``);
  const conds = (list: unknown, name: string): Condition[] => {
    if (list === undefined || list === null) return [];
    const arr = Array.isArray(list) ? list : [list];
    return arr.map((c, i) => {
      const cc = c as Condition;
      if (!cc || typeof cc.key !== "string" || !cc.match || typeof cc.match !== "object" || !("value" in cc.match)) {
        throw new QdrantError(400, `Format error in JSON body: filter.${name}[${i}]: data did not match any variant of untagged enum Condition`);
      }
      return cc;
    });
  };
  const must = conds(f.must, "must");
  const should = conds(f.should, "should");
  const mustNot = conds(f.must_not, "must_not");
  const hit = (p: Point, c: Condition) => p.payload[c.key] === c.match.value;
  return (p) => must.every((c) => hit(p, c)) && (!should.length || should.some((c) => hit(p, c))) && !mustNot.some((c) => hit(p, c));
}

function selectPayload(p: Point, sel: unknown): Record<string, unknown> | undefined {
  if (sel === true) return p.payload;
  if (Array.isArray(sel)) return Object.fromEntries(sel.filter((k) => k in p.payload).map((k) => [k, p.payload[k as string]]));
  return undefined;
}

function positiveInt(v: unknown, name: string, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new QdrantError(400, `Format error in JSON body: ${name}: invalid type: expected usize`);
  return v;
}

export function startQdrantStandIn(opts: { apiKey?: string } = {}): QdrantStandIn {
  const collections = new Map<string, Collection>();
  const requests: QdrantStandIn["requests"] = [];
  let op = 0;

  const get = (name: string) => {
    const c = collections.get(name);
    if (!c) throw new QdrantError(404, `Not found: Collection \`${name}\` doesn't exist!`);
    return c;
  };

  const checkVector = (c: Collection, v: unknown, where: string): number[] => {
    if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
      throw new QdrantError(400, `Format error in JSON body: ${where}: expected a vector of numbers`);
    }
    if (v.length !== c.size) throw wrong(`Vector dimension error: expected dim: ${c.size}, got ${v.length}`);
    return v as number[];
  };

  function route(method: string, parts: string[], body: any, url: URL): unknown {
    if (method === "GET" && parts.length === 0) return { title: "qdrant - vector search engine", version: "1.19.0" };
    if (parts[0] !== "collections" || !parts[1]) throw new QdrantError(404, `Not found: no route ${url.pathname}`);
    const name = decodeURIComponent(parts[1]);
    const rest = parts.slice(2).join("/");
    if (method === "GET" && rest === "exists") return { exists: collections.has(name) };
    if (method === "GET" && rest === "") {
      const c = get(name);
      return {
        status: "green",
        optimizer_status: "ok",
        indexed_vectors_count: 0,
        points_count: c.points.size,
        segments_count: 1,
        config: {
          params: { vectors: { size: c.size, distance: c.distance }, shard_number: 1, replication_factor: 1, write_consistency_factor: 1, on_disk_payload: true },
          hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000, max_indexing_threads: 0, on_disk: false },
          optimizer_config: { deleted_threshold: 0.2, vacuum_min_vector_number: 1000, default_segment_number: 0, flush_interval_sec: 5 },
          wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
        },
        payload_schema: Object.fromEntries(Object.entries(c.indexes).map(([k, t]) => [k, { data_type: t, params: { type: t }, points: c.points.size }])),
      };
    }
    if (method === "PUT" && rest === "") {
      if (collections.has(name)) throw new QdrantError(409, `Wrong input: Collection \`${name}\` already exists!`);
      const v = body?.vectors;
      if (!v || typeof v !== "object" || typeof v.size !== "number" || !Number.isInteger(v.size) || v.size < 1) {
        throw new QdrantError(400, "Format error in JSON body: vectors: missing field `size`");
      }
      if (!["Cosine", "Dot", "Euclid", "Manhattan"].includes(v.distance)) {
        throw new QdrantError(
          400,
          `Format error in JSON body: vectors.distance: unknown variant \`${v.distance}\`, expected one of \`Cosine\`, \`Euclid\`, \`Dot\`, \`Manhattan\``,
        );
      }
      collections.set(name, { size: v.size, distance: v.distance, points: new Map(), indexes: {} });
      return true;
    }
    if (method === "DELETE" && rest === "") return collections.delete(name);
    const c = get(name);
    const done = () => ({ operation_id: ++op, status: url.searchParams.get("wait") === "true" ? "completed" : "acknowledged" });
    if (method === "PUT" && rest === "index") {
      if (typeof body?.field_name !== "string" || !body.field_name) throw new QdrantError(400, "Format error in JSON body: missing field `field_name`");
      const schema = typeof body.field_schema === "string" ? body.field_schema : body.field_schema?.type;
      if (!["keyword", "integer", "float", "bool", "geo", "text", "datetime", "uuid"].includes(schema)) {
        throw new QdrantError(400, `Format error in JSON body: field_schema: unknown variant \`${schema}\``);
      }
      c.indexes[body.field_name] = schema;
      return done();
    }
    if (method === "PUT" && rest === "points") {
      if (!Array.isArray(body?.points)) throw new QdrantError(400, "Format error in JSON body: data did not match any variant of untagged enum PointInsertOperations");
      const staged = (body.points as any[]).map((p, i) => {
        const id = pointId(p?.id, `points[${i}].id`);
        const vector = checkVector(c, p?.vector, `points[${i}].vector`);
        if (p.payload !== undefined && p.payload !== null && (typeof p.payload !== "object" || Array.isArray(p.payload))) {
          throw new QdrantError(400, `Format error in JSON body: points[${i}].payload: expected a map`);
        }
        return { id, vector: c.distance === "Cosine" ? normalise(vector) : vector, payload: p.payload ?? {} } satisfies Point;
      });
      for (const p of staged) c.points.set(key(p.id), p);
      return done();
    }
    if (method === "POST" && rest === "points/delete") {
      if (Array.isArray(body?.points)) {
        body.points.forEach((id: unknown, i: number) => c.points.delete(key(pointId(id, `points[${i}]`))));
      } else if (body?.filter) {
        const f = parseFilter(body.filter)!;
        for (const [k, p] of c.points) if (f(p)) c.points.delete(k);
      } else throw new QdrantError(400, "Format error in JSON body: data did not match any variant of untagged enum PointsSelector");
      return done();
    }
    if (method === "POST" && (rest === "points/query" || rest === "points/search")) {
      const raw = rest === "points/query" ? body?.query : body?.vector;
      const q = checkVector(c, raw, rest === "points/query" ? "query" : "vector");
      const limit = positiveInt(body.limit, "limit", 10);
      const threshold = body.score_threshold;
      if (threshold !== undefined && threshold !== null && typeof threshold !== "number") throw new QdrantError(400, "Format error in JSON body: score_threshold: expected f32");
      const f = parseFilter(body.filter);
      const qn = c.distance === "Cosine" ? normalise(q) : q;
      const scored = [...c.points.values()]
        .filter((p) => !f || f(p))
        .map((p) => ({ p, score: p.vector.reduce((s, x, i) => s + x * qn[i]!, 0) }))
        .filter((s) => typeof threshold !== "number" || s.score >= threshold)
        .sort((a, b) => b.score - a.score)
        .slice(0, limit)
        .map(({ p, score }) => ({
          id: p.id,
          version: 0,
          score,
          ...(body.with_payload ? { payload: selectPayload(p, body.with_payload) } : {}),
          ...(body.with_vector ? { vector: p.vector } : {}),
        }));
      return rest === "points/query" ? { points: scored } : scored;
    }
    if (method === "POST" && rest === "points/scroll") {
      const limit = positiveInt(body?.limit, "limit", 10);
      const f = parseFilter(body?.filter);
      const from = body?.offset === undefined || body?.offset === null ? undefined : key(pointId(body.offset, "offset"));
      const sorted = [...c.points.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).filter(([k, p]) => (!from || k >= from) && (!f || f(p)));
      const page = sorted.slice(0, limit);
      const next = sorted[limit]?.[1].id ?? null;
      return {
        points: page.map(([, p]) => ({ id: p.id, payload: selectPayload(p, body?.with_payload ?? true), ...(body?.with_vector ? { vector: p.vector } : {}) })),
        next_page_offset: next,
      };
    }
    if (method === "POST" && rest === "points/count") {
      const f = parseFilter(body?.filter);
      return { count: [...c.points.values()].filter((p) => !f || f(p)).length };
    }
    throw new QdrantError(404, `Not found: no route ${method} ${url.pathname}`);
  }

  const server: Server<unknown> = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const started = performance.now();
      const url = new URL(request.url);
      const reply = (status: number, payload: Record<string, unknown>) => Response.json({ ...payload, time: (performance.now() - started) / 1000 }, { status });
      if (opts.apiKey && request.headers.get("api-key") !== opts.apiKey) {
        return reply(401, { status: { error: "Unauthorized: invalid api-key" } });
      }
      let body: unknown;
      const text = await request.text();
      if (text) {
        try {
          body = JSON.parse(text);
        } catch (err) {
          return reply(400, { status: { error: `Format error in JSON body: ${(err as Error).message}` } });
        }
      }
      requests.push({ method: request.method, path: url.pathname, body });
      try {
        const parts = url.pathname.split("/").filter(Boolean);
        const result = route(request.method, parts, body, url);
        if (parts.length === 0) return Response.json(result);
        return reply(200, { result, status: "ok" });
      } catch (err) {
        if (err instanceof QdrantError) return reply(err.status, { status: { error: err.message } });
        return reply(500, { status: { error: `Service internal error: ${(err as Error).message}` } });
      }
    },
  });

  return { url: `http://127.0.0.1:${server.port}`, collections, requests, stop: () => server.stop(true) };
}
