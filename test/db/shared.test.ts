/**
 * During an upgrade two processes write one database. A transaction that
 * reads and then writes while the other process holds the write lock must
 * wait for it, not fail with "database is locked".
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openStore } from "../../core/db/client.ts";
import { tempDir } from "../helpers/app.ts";

/** Another process that takes the write lock, holds it while it "works" for `ms`, and commits. */
async function holdWriteLock(path: string, ms: number) {
  const code = `
    const { Database } = require("bun:sqlite");
    const db = new Database(${JSON.stringify(path)});
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("BEGIN IMMEDIATE");
    db.query("INSERT INTO settings (key, value, updated_at) VALUES ('other', '1', 0)").run();
    console.log("locked");
    await Bun.sleep(${ms});
    db.exec("COMMIT");
  `;
  const p = Bun.spawn([process.execPath, "-e", code], { stdout: "pipe", stderr: "inherit" });
  for await (const _ of p.stdout) break;
  return p;
}

describe("The database two processes share", () => {
  const readThenWrite = (store: ReturnType<typeof openStore>, key: string) => () => {
    store.sqlite.query("SELECT count(*) FROM settings").get();
    store.sqlite.query("INSERT INTO settings (key, value, updated_at) VALUES (?, '1', 0)").run(key);
  };

  test("a transaction that reads first waits for the other process's write lock instead of failing", async () => {
    const dir = tempDir();
    const store = openStore(dir);
    try {
      const other = await holdWriteLock(join(dir, "bakerst.db"), 300);
      store.sqlite.transaction(readThenWrite(store, "mine"))();
      expect(await other.exited).toBe(0);
      const keys = (store.sqlite.query("SELECT key FROM settings WHERE key IN ('mine', 'other') ORDER BY key").all() as { key: string }[]).map((r) => r.key);
      expect(keys).toEqual(["mine", "other"]);
    } finally {
      store.close();
    }
  });

  test("(why: the same transaction begun deferred fails once the other commits between its read and its write)", async () => {
    const dir = tempDir();
    const store = openStore(dir);
    try {
      const other = await holdWriteLock(join(dir, "bakerst.db"), 300);
      expect(() => store.sqlite.transaction(readThenWrite(store, "mine")).deferred()).toThrow(/database is locked/);
      expect(await other.exited).toBe(0);
    } finally {
      store.close();
    }
  });
});
