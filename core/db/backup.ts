/**
 * Backups of the database while bakerst runs, and restoring one. A backup is
 * SQLite's `VACUUM INTO`: a consistent snapshot written beside, checked, then
 * renamed into place, so a backup file is never half written. Restoring keeps
 * the data dir's database id (bakerst.db.id) equal to the restored database's,
 * so the start-up guard (guard.ts) accepts it and nothing else.
 */
import { Database } from "bun:sqlite";
import { chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { migrationCount } from "./client.ts";
import { ID_FILE, startsLikeSqlite } from "./guard.ts";
import { makePrivateDir } from "./private-files.ts";

export const DB_FILE = "bakerst.db";
/** `bakerst backup --into DIR` names its files so that sorting by name sorts by time. */
const ROTATED = /^bakerst-\d{8}T\d{6}Z\.db$/;

export class BackupError extends Error {
  override name = "BackupError";
}

export interface DatabaseFacts {
  /** The database's own id (settings `db.id`). */
  id: string;
  /** Migrations applied to it. */
  migrations: number;
  bytes: number;
}

/** Checks a database file (a backup, or one about to become one) and reads its id; throws BackupError saying what is wrong. */
export function inspect(path: string, what: string): DatabaseFacts {
  if (!existsSync(path) || !statSync(path).isFile()) throw new BackupError(`${what} ${path} does not exist or is not a file`);
  const bytes = statSync(path).size;
  if (bytes === 0 || !startsLikeSqlite(path)) throw new BackupError(`${what} ${path} is not a SQLite database`);
  let db: Database | undefined;
  try {
    db = new Database(path, { readonly: true });
    const check = db.query("PRAGMA quick_check").get() as { quick_check: string } | null;
    if (check?.quick_check !== "ok") throw new BackupError(`${what} ${path} is damaged (${check?.quick_check ?? "no answer"})`);
    const hasSettings = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'settings'").get();
    const row = hasSettings ? (db.query("SELECT value FROM settings WHERE key = 'db.id'").get() as { value: string } | null) : null;
    if (!row) throw new BackupError(`${what} ${path} is not a bakerst database (it has no database id)`);
    const migrations = (db.query("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number }).n;
    return { id: JSON.parse(row.value) as string, migrations, bytes };
  } catch (err) {
    if (err instanceof BackupError) throw err;
    throw new BackupError(`${what} ${path} cannot be read as a bakerst database (${(err as Error).message})`);
  } finally {
    db?.close();
  }
}

const idOfDataDir = (dataDir: string) => (existsSync(join(dataDir, ID_FILE)) ? readFileSync(join(dataDir, ID_FILE), "utf8").trim() : undefined);

export interface BackupResult extends DatabaseFacts {
  file: string;
  /** Older backups removed by `--keep`. */
  removed: string[];
}

/**
 * Writes a snapshot of the data dir's database to `file` while bakerst may be
 * running (readers and writers go on). Refuses an existing file, and a
 * database that is not the one this data dir had (so a rotation never
 * replaces good backups with copies of the wrong database).
 */
export function backup(dataDir: string, file: string): BackupResult {
  const source = join(dataDir, DB_FILE);
  const target = resolve(file);
  if (!existsSync(source)) throw new BackupError(`there is no database to back up in ${dataDir}`);
  if (existsSync(target)) throw new BackupError(`${target} already exists; name a new file (nothing was written)`);
  const expected = idOfDataDir(dataDir);
  const tmp = `${target}.${process.pid}.partial`;
  const db = new Database(source, { readwrite: true, create: false });
  try {
    db.exec("PRAGMA busy_timeout = 10000");
    db.query("VACUUM INTO ?").run(tmp);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new BackupError(`could not back up ${source}: ${(err as Error).message}`);
  } finally {
    db.close();
  }
  try {
    chmodSync(tmp, 0o600);
    const facts = inspect(tmp, "the new backup");
    if (expected && facts.id !== expected) {
      throw new BackupError(
        `${source} is not the database this data dir had (its id is ${facts.id}, ${ID_FILE} says ${expected}); nothing was written. Restore it, or move the data dir away`,
      );
    }
    const fd = openSync(tmp, "r");
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, target);
    return { ...facts, file: target, removed: [] };
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** `bakerst-20261201T030000Z.db`: the time now, UTC, to the second. */
export const rotatedName = (now: Date) =>
  `bakerst-${now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}.db`;

/** A backup into `dir` named by the time, keeping the newest `keep` of the files so named (others are not touched). */
export function backupInto(dataDir: string, dir: string, keep: number, now = new Date()): BackupResult {
  makePrivateDir(dir);
  const result = backup(dataDir, join(dir, rotatedName(now)));
  const rotated = readdirSync(dir)
    .filter((f) => ROTATED.test(f))
    .sort();
  const removed = rotated.slice(0, Math.max(0, rotated.length - keep));
  for (const f of removed) rmSync(join(dir, f), { force: true });
  return { ...result, removed };
}

export interface RestoreResult extends DatabaseFacts {
  /** Where the database that was there went (with its WAL), if there was one. */
  savedAs?: string;
  previousId?: string;
}

/**
 * Puts a backup in place of the data dir's database. The caller makes sure no
 * bakerst runs on the data dir. The database that was there is kept beside
 * (renamed with its WAL, so it stays whole), the backup is copied in, and the
 * database id file is written with the backup's id.
 */
export function restore(dataDir: string, file: string, now = new Date()): RestoreResult {
  const source = resolve(file);
  const facts = inspect(source, "the backup");
  const known = migrationCount();
  if (facts.migrations > known) {
    throw new BackupError(`the backup was made by a newer bakerst (${facts.migrations} migrations, this one knows ${known}); restore it with that version (nothing was changed)`);
  }
  makePrivateDir(dataDir);
  const target = join(dataDir, DB_FILE);
  const incoming = `${target}.restoring`;
  copyFileSync(source, incoming);
  chmodSync(incoming, 0o600);
  const fd = openSync(incoming, "r");
  fsyncSync(fd);
  closeSync(fd);

  let savedAs: string | undefined;
  let previousId: string | undefined;
  if (existsSync(target)) {
    try {
      previousId = inspect(target, "the current database").id;
    } catch {
      // A damaged or foreign database is what a restore is for; it is kept all the same.
    }
    savedAs = `${target}.before-restore-${rotatedName(now).slice("bakerst-".length, -".db".length)}`;
    renameSync(target, savedAs);
    // The WAL goes with its database: left behind, SQLite would replay it into the restored one.
    if (existsSync(`${target}-wal`)) renameSync(`${target}-wal`, `${savedAs}-wal`);
  }
  rmSync(`${target}-shm`, { force: true });
  rmSync(`${target}-wal`, { force: true });
  renameSync(incoming, target);
  writeFileSync(join(dataDir, ID_FILE), `${facts.id}\n`, { mode: 0o600 });
  chmodSync(join(dataDir, ID_FILE), 0o600);
  return { ...facts, ...(savedAs ? { savedAs: basename(savedAs) } : {}), ...(previousId ? { previousId } : {}) };
}
