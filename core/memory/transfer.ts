import { asc, eq, gt } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { AppError, badRequest } from "../errors.ts";
import { parseJson } from "../protocol/json.ts";
import type { Logger } from "../telemetry/log.ts";
import { memories } from "./memory.sql.ts";
import { validMemory } from "./service.ts";
import type { Category } from "./types.ts";
import type { VectorIndex } from "./vectors.ts";

export const MAX_IMPORT_LINES = 100_000;

export interface ExportLine {
  id: string;
  text: string;
  category: Category;
  source: string;
  createdAt: number;
  updatedAt: number;
  model?: string;
  vector?: number[];
}

/** JSON lines, one memory each, oldest id first; with vectors when asked and when they are current. */
export async function* exportLines(db: Db, vectors: VectorIndex, withVectors: boolean): AsyncGenerator<string> {
  const byId = new Map<string, Float32Array>();
  let after = "";
  for (;;) {
    const rows = db.select().from(memories).where(gt(memories.id, after)).orderBy(asc(memories.id)).limit(500).all();
    if (!rows.length) return;
    after = rows.at(-1)!.id;
    byId.clear();
    const model = vectors.embedder?.model;
    if (withVectors && vectors.store && vectors.state === "ready") {
      let cursor: string | undefined = rows[0]!.id;
      // The store pages in the same id order, so one scroll window covers this batch.
      while (cursor && cursor <= after) {
        const page = await vectors.store.scroll({ limit: 500, after: cursor });
        for (const p of page.points) if (p.id <= after) byId.set(p.id, p.vector);
        cursor = page.next ?? undefined;
      }
    }
    for (const r of rows) {
      const line: ExportLine = { id: r.id, text: r.text, category: r.category as Category, source: r.source, createdAt: r.createdAt, updatedAt: r.updatedAt };
      const v = byId.get(r.id);
      if (v && model && r.embeddedWith === model) {
        line.model = model;
        line.vector = Array.from(v);
      }
      yield `${JSON.stringify(line)}\n`;
    }
  }
}

const ID = /^[A-Za-z0-9-]{1,64}$/;

/** Parses and checks every line before anything is written; the first bad line is named. */
export function parseImport(body: string): ExportLine[] {
  const lines = body.split("\n");
  const out: ExportLine[] = [];
  const now = Date.now();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (!raw) continue;
    const at = `line ${i + 1}: `;
    if (out.length >= MAX_IMPORT_LINES) throw badRequest(`${at}more than ${MAX_IMPORT_LINES} memories in one import`);
    const parsed = parseJson(raw);
    if (!parsed.ok) throw new AppError("invalid_json", `${at}not valid JSON (${parsed.reason})`);
    const obj = parsed.value as Record<string, unknown>;
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) throw badRequest(`${at}expected a JSON object`);
    const { text, category } = validMemory(obj.text, obj.category, at);
    if (obj.id !== undefined && (typeof obj.id !== "string" || !ID.test(obj.id))) throw badRequest(`${at}id: expected up to 64 letters, digits or dashes`);
    for (const k of ["createdAt", "updatedAt"] as const) {
      if (obj[k] !== undefined && (typeof obj[k] !== "number" || !Number.isInteger(obj[k]) || (obj[k] as number) < 0)) {
        throw badRequest(`${at}${k}: expected a non-negative integer (ms since epoch)`);
      }
    }
    if (obj.vector !== undefined && (!Array.isArray(obj.vector) || !obj.vector.every((x) => typeof x === "number" && Number.isFinite(x)))) {
      throw badRequest(`${at}vector: expected an array of numbers`);
    }
    if (obj.model !== undefined && typeof obj.model !== "string") throw badRequest(`${at}model: expected a string`);
    out.push({
      id: (obj.id as string | undefined) ?? Bun.randomUUIDv7(),
      text,
      category,
      source: "import",
      createdAt: (obj.createdAt as number | undefined) ?? now,
      updatedAt: (obj.updatedAt as number | undefined) ?? now,
      ...(obj.model ? { model: obj.model as string } : {}),
      ...(obj.vector ? { vector: obj.vector as number[] } : {}),
    });
  }
  return out;
}

/**
 * Writes every line in one transaction (same id replaces). Vectors made by the
 * current model go straight into the store; the rest are embedded in the background.
 */
export async function importLines(db: Db, vectors: VectorIndex, lines: ExportLine[], log: Logger): Promise<{ imported: number; replaced: number; embedded: number }> {
  const model = vectors.embedder?.model;
  const reuse = (l: ExportLine) => !!model && vectors.state === "ready" && l.model === model && l.vector?.length === vectors.dimension;
  let replaced = 0;
  db.transaction((tx) => {
    for (const l of lines) {
      const exists = tx.select({ id: memories.id }).from(memories).where(eq(memories.id, l.id)).get();
      const row = { text: l.text, category: l.category, source: l.source, createdAt: l.createdAt, updatedAt: l.updatedAt, embeddedWith: null };
      if (exists) {
        replaced++;
        tx.update(memories).set(row).where(eq(memories.id, l.id)).run();
      } else
        tx.insert(memories)
          .values({ id: l.id, ...row })
          .run();
    }
  });
  const ready = lines.filter(reuse);
  let embedded = 0;
  for (let i = 0; i < ready.length; i += 256) {
    const batch = ready.slice(i, i + 256);
    try {
      await vectors.store!.upsert(batch.map((l) => ({ id: l.id, vector: Float32Array.from(l.vector!), category: l.category })));
      db.transaction((tx) => {
        for (const l of batch) tx.update(memories).set({ embeddedWith: model! }).where(eq(memories.id, l.id)).run();
      });
      embedded += batch.length;
    } catch (err) {
      log.warn("import could not write vectors; they will be re-embedded", { error: (err as Error).message });
      break;
    }
  }
  vectors.kick();
  return { imported: lines.length, replaced, embedded };
}
