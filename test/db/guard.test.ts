import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readFileSync, statSync, truncateSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { AREAS } from "../../core/areas.ts";
import { formatChecks, runDoctor } from "../../core/cli/doctor.ts";
import { openStore } from "../../core/db/client.ts";
import { DatabaseGuardError, ID_FILE } from "../../core/db/guard.ts";
import { tempDir, testConfig } from "../helpers/app.ts";

/** A data dir that has had a database with a conversation in it. */
function usedDataDir(): string {
  const dir = tempDir();
  const s = openStore(dir);
  s.sqlite.query("INSERT INTO conversations (id, title, channel, created_at, updated_at) VALUES ('c1', 'kept', 'web', 1, 1)").run();
  s.close();
  return dir;
}

const refusal = (dir: string) => {
  try {
    openStore(dir).close();
  } catch (e) {
    return e as Error;
  }
  throw new Error("the database opened");
};

describe("Database guard", () => {
  test("a first start makes the database's id and keeps it beside it, readable only by the owner", () => {
    const dir = tempDir();
    openStore(dir).close();
    const idFile = join(dir, ID_FILE);
    expect(readFileSync(idFile, "utf8").trim()).toMatch(/^[0-9a-f-]{36}$/);
    expect(statSync(idFile).mode & 0o777).toBe(0o600);
    // And a later start of the same database passes.
    const again = openStore(dir);
    expect(again.sqlite.query("SELECT title FROM conversations").get()).toBeNull();
    again.close();
  });

  test("a database truncated to 0 bytes stops start-up with what to do, and is not replaced by an empty one", () => {
    const dir = usedDataDir();
    const db = join(dir, "bakerst.db");
    // What `kubectl --profile-output=<data dir>/bakerst.db` did.
    truncateSync(db, 0);
    const err = refusal(dir);
    expect(err).toBeInstanceOf(DatabaseGuardError);
    expect(err.message).toContain("is empty (0 bytes)");
    expect(err.message).toContain("Restore it from a backup");
    expect(statSync(db).size).toBe(0);
  });

  test("a missing database, one replaced by a new empty one, and one whose header was overwritten are all refused", () => {
    const gone = usedDataDir();
    for (const f of ["bakerst.db", "bakerst.db-wal", "bakerst.db-shm"]) if (existsSync(join(gone, f))) unlinkSync(join(gone, f));
    expect(refusal(gone).message).toContain("is missing");
    expect(existsSync(join(gone, "bakerst.db"))).toBe(false);

    const replaced = usedDataDir();
    for (const f of ["bakerst.db", "bakerst.db-wal", "bakerst.db-shm"]) if (existsSync(join(replaced, f))) unlinkSync(join(replaced, f));
    new Database(join(replaced, "bakerst.db")).exec("CREATE TABLE other (x)");
    expect(refusal(replaced).message).toContain("replaced by a new, empty database");

    const scribbled = usedDataDir();
    const fd = openSync(join(scribbled, "bakerst.db"), "r+");
    writeSync(fd, Buffer.from("kubectl profile output"), 0, 22, 0);
    closeSync(fd);
    expect(refusal(scribbled).message).toContain("is not a SQLite database any more");
  });

  test("the binary's start-up says it and exits 2 instead of serving an empty database", async () => {
    const dir = usedDataDir();
    truncateSync(join(dir, "bakerst.db"), 0);
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "..", "..", "core", "main.ts"), "serve"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", BAKERST_DATA_DIR: dir, PORT: "0", HOST: "127.0.0.1", AUTH_TOKEN: "t".repeat(32) },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(2);
    expect(await new Response(proc.stderr).text()).toContain("bakerst.db is empty (0 bytes)");
  });

  test("bakerst doctor checks the database's integrity and reports damaged pages", async () => {
    const dir = usedDataDir();
    const ok = formatChecks(await runDoctor(testConfig({}, dir), AREAS));
    expect(ok).toContain("✓ integrity: quick check passed");
    // Fill a table, then scribble over one of its pages (not the header).
    const s = openStore(dir);
    const insert = s.sqlite.query("INSERT INTO conversations (id, title, channel, created_at, updated_at) VALUES (?, ?, 'web', 1, 1)");
    for (let i = 0; i < 2000; i++) insert.run(`c-${i}`, "x".repeat(200));
    s.sqlite.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const pages = (s.sqlite.query("PRAGMA page_count").get() as { page_count: number }).page_count;
    s.close();
    const fd = openSync(join(dir, "bakerst.db"), "r+");
    writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 4096 * Math.floor(pages / 2));
    closeSync(fd);
    const bad = formatChecks(await runDoctor(testConfig({}, dir), AREAS));
    expect(bad).toMatch(/✗ (integrity|database):/);
    expect(bad).toContain("restore");
  });
});
