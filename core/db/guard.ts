import type { Database } from "bun:sqlite";
import { chmodSync, closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { newId } from "../util/ids.ts";

/** Beside the database, names it: a data dir with this file has had a database, and it was this one. */
export const ID_FILE = "bakerst.db.id";
const ID_KEY = "db.id";
const SQLITE_HEADER = "SQLite format 3\0";

/** The database is not what this data dir had: start-up stops instead of beginning empty. */
export class DatabaseGuardError extends Error {
  override name = "DatabaseGuardError";
}

const restore = (idPath: string) =>
  `Restore it from a backup (bakerst restore FILE, or copy it back while bakerst is stopped); to start over with an empty database instead, move the data dir away or delete ${idPath}.`;

/** The file begins with SQLite's 16-byte header. */
export function startsLikeSqlite(path: string): boolean {
  const head = Buffer.alloc(16);
  const fd = openSync(path, "r");
  try {
    readSync(fd, head, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  return head.toString("latin1") === SQLITE_HEADER;
}

/**
 * Before the database is opened (and so before anything could create a new
 * one): when this data dir has held a database, it must still be there, not
 * empty, and start like a SQLite file. Costs a stat and a 16-byte read.
 */
export function checkBeforeOpen(dataDir: string, path: string): string | undefined {
  const idPath = join(dataDir, ID_FILE);
  if (!existsSync(idPath)) return undefined;
  const expected = readFileSync(idPath, "utf8").trim();
  if (!existsSync(path)) throw new DatabaseGuardError(`${path} is missing, but this data dir held a database (${ID_FILE}: ${expected}). ${restore(idPath)}`);
  const size = statSync(path).size;
  if (size === 0) throw new DatabaseGuardError(`${path} is empty (0 bytes): it was truncated; the data it held is not in it any more. ${restore(idPath)}`);
  if (!startsLikeSqlite(path)) throw new DatabaseGuardError(`${path} is not a SQLite database any more (its first bytes were overwritten). ${restore(idPath)}`);
  return expected;
}

/**
 * After migrations: the database is the one this data dir had (its id
 * matches). On the first start, or the first since this check exists, the id
 * is made and written beside the database.
 */
export function checkIdentity(sqlite: Database, dataDir: string, path: string, expected: string | undefined): void {
  const idPath = join(dataDir, ID_FILE);
  const row = sqlite.query("SELECT value FROM settings WHERE key = ?").get(ID_KEY) as { value: string } | null;
  const id = row ? (JSON.parse(row.value) as string) : undefined;
  if (expected !== undefined) {
    if (id === undefined) throw new DatabaseGuardError(`${path} holds none of this data dir's data (it was replaced by a new, empty database). ${restore(idPath)}`);
    if (id !== expected) throw new DatabaseGuardError(`${path} is another database (id ${id}, this data dir's is ${expected}). ${restore(idPath)}`);
    return;
  }
  const made = id ?? newId();
  if (!id) sqlite.query("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)").run(ID_KEY, JSON.stringify(made), Date.now());
  writeFileSync(idPath, `${made}\n`, { mode: 0o600 });
  chmodSync(idPath, 0o600);
}

/** SQLite's own errors for a damaged file, as a message that says what to do. */
export function explainOpenError(err: unknown, path: string, dataDir: string): Error {
  const message = (err as Error)?.message ?? String(err);
  if (/malformed|not a database|corrupt|file is encrypted/i.test(message)) {
    return new DatabaseGuardError(`${path} is damaged (${message}). ${restore(join(dataDir, ID_FILE))}`);
  }
  return err as Error;
}
