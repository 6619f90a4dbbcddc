import { Database } from "bun:sqlite";
import { join } from "node:path";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import { sha256Hex } from "../util/crypto.ts";
import { checkBeforeOpen, checkIdentity, explainOpenError } from "./guard.ts";
import { journal, sql as migrationSql } from "./migrations/index.ts";
import { makePrivateDir, touchPrivate } from "./private-files.ts";

export type Db = BunSQLiteDatabase & { $client: Database };

/**
 * The database file two processes may write at once (an upgrade runs the old
 * and the new core side by side). A transaction here takes the write lock
 * when it begins (BEGIN IMMEDIATE) and waits for it (busy_timeout): a
 * deferred one that reads first fails at once with SQLITE_BUSY when the
 * other process commits between its read and its write.
 */
class SharedDatabase extends Database {
  override transaction<A extends unknown[], T>(fn: (...args: A) => T) {
    const t = super.transaction(fn);
    return Object.assign((...args: A) => t.immediate(...args), { deferred: t.deferred, immediate: t.immediate, exclusive: t.exclusive });
  }
}

export interface Store {
  db: Db;
  sqlite: Database;
  path: string;
  close(): void;
}

/** Drizzle's migrator reads a folder; ours carries the SQL inside the binary. */
function migrations() {
  return journal.entries.map((entry, i) => {
    const query = migrationSql[i];
    if (query === undefined) throw new Error(`migration ${entry.tag} missing from core/db/migrations/index.ts`);
    return {
      sql: query.split("--> statement-breakpoint"),
      bps: entry.breakpoints,
      folderMillis: entry.when,
      hash: sha256Hex(query),
    };
  });
}

/**
 * Opens (and migrates) the database. A data dir that held a database whose
 * file is now missing, empty, replaced or damaged stops here with a
 * DatabaseGuardError instead of starting over empty.
 */
export function openStore(dataDir: string, file = "bakerst.db"): Store {
  makePrivateDir(dataDir);
  const path = join(dataDir, file);
  const expected = checkBeforeOpen(dataDir, path);
  // Created private before SQLite opens it, so its WAL and shared-memory files are private too.
  touchPrivate(path);
  const sqlite = new SharedDatabase(path, { create: true, strict: true });
  let db: Db;
  try {
    // First, so that everything after waits for a lock the other process of an upgrade holds.
    sqlite.exec("PRAGMA busy_timeout = 5000");
    sqlite.exec("PRAGMA journal_mode = WAL");
    sqlite.exec("PRAGMA synchronous = NORMAL");
    sqlite.exec("PRAGMA foreign_keys = ON");
    db = drizzle({ client: sqlite }) as Db;
    // Same bookkeeping table and hashing as drizzle-orm/bun-sqlite/migrator.
    (db as unknown as { dialect: { migrate(m: unknown, s: unknown, c: unknown): void }; session: unknown }).dialect.migrate(
      migrations(),
      (db as unknown as { session: unknown }).session,
      { migrationsFolder: "(embedded)" },
    );
    checkIdentity(sqlite, dataDir, path, expected);
  } catch (err) {
    sqlite.close();
    throw explainOpenError(err, path, dataDir);
  }
  return {
    db,
    sqlite,
    path,
    close() {
      try {
        sqlite.exec("PRAGMA optimize");
      } catch {
        // closing anyway
      }
      sqlite.close();
    },
  };
}

export function migrationCount(): number {
  return journal.entries.length;
}
