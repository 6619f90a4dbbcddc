import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../../core/db/client.ts";
import { renderIndex } from "../../scripts/db-generate.ts";
import { tempDir } from "../helpers/app.ts";

const dir = join(import.meta.dir, "..", "..", "core", "db", "migrations");

describe("migrations", () => {
  test("the embedded index carries every migration in the journal", () => {
    const journal = JSON.parse(readFileSync(join(dir, "meta", "_journal.json"), "utf8"));
    expect(readFileSync(join(dir, "index.ts"), "utf8")).toBe(renderIndex(journal));
    const sqlFiles = readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
    expect(sqlFiles).toEqual(journal.entries.map((e: { tag: string }) => `${e.tag}.sql`).sort());
  });

  test("apply on a fresh database, in WAL mode, and again idempotently on reopen", () => {
    const data = tempDir();
    const a = openStore(data);
    expect(a.sqlite.query("pragma journal_mode").get()).toEqual({ journal_mode: "wal" });
    const tables = (a.sqlite.query("select name from sqlite_master where type = 'table'").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining(["conversations", "messages", "usage", "sessions", "settings", "__drizzle_migrations"]));
    const applied = (a.sqlite.query("select count(*) as n from __drizzle_migrations").get() as { n: number }).n;
    a.close();
    const b = openStore(data);
    expect((b.sqlite.query("select count(*) as n from __drizzle_migrations").get() as { n: number }).n).toBe(applied);
    b.close();
  });
});
