import type { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// Embedded into the compiled binary; in development this is the file in node_modules.
import vecPath from "sqlite-vec-linux-x64/vec0.so" with { type: "file" };

let extracted: string | undefined;

/**
 * SQLite cannot open a library inside the compiled binary (`/$bunfs/...`), so the
 * embedded copy is written once per process to a private temp dir and loaded from
 * there. The file keeps its name: SQLite derives the entry point (sqlite3_vec_init) from it.
 */
function loadablePath(): string {
  if (!vecPath.startsWith("/$bunfs/") && !vecPath.startsWith("B:/~BUN/")) return vecPath;
  if (extracted) return extracted;
  const dir = mkdtempSync(join(tmpdir(), "bakerst-vec-"));
  const file = join(dir, "vec0.so");
  writeFileSync(file, readFileSync(vecPath), { mode: 0o700 });
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  extracted = file;
  return file;
}

const loaded = new WeakSet<Database>();

export function loadVec(db: Database): void {
  if (loaded.has(db)) return;
  db.loadExtension(loadablePath());
  loaded.add(db);
}
