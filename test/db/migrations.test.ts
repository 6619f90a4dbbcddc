import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../../core/db/client.ts";
import { breaksOlderRelease, type Migration, parseTriggers, placeTriggers, renderIndex, type Snapshot, triggerFiles } from "../../scripts/db-generate.ts";
import { tempDir } from "../helpers/app.ts";

const dir = join(import.meta.dir, "..", "..", "core", "db", "migrations");

/** The last migration from before two versions could share a database during an upgrade. */
const BEFORE_UPGRADES = "0003_areas";

describe("migrations", () => {
  test("are forward-compatible since upgrades run the old core on the new schema: only additions, nothing required it would leave out", () => {
    const journal = JSON.parse(readFileSync(join(dir, "meta", "_journal.json"), "utf8")) as { entries: { idx: number; tag: string }[] };
    const from = journal.entries.findIndex((e) => e.tag === BEFORE_UPGRADES);
    expect(from).toBeGreaterThanOrEqual(0);
    const snapshot = (e: { idx: number }) => JSON.parse(readFileSync(join(dir, "meta", `${String(e.idx).padStart(4, "0")}_snapshot.json`), "utf8")) as Snapshot;
    const breaks = journal.entries.slice(from + 1).flatMap((e, i) => breaksOlderRelease(snapshot(journal.entries[from + i]!), snapshot(e)).map((b) => `${e.tag}: ${b}`));
    expect(breaks).toEqual([]);
    // The check reads real snapshots: the last migration before it would not have passed.
    expect(breaksOlderRelease(snapshot(journal.entries[from - 1]!), snapshot(journal.entries[from]!))).toContain(
      "table bus_last_status is gone (dropped or renamed): the old core still reads it",
    );
  });

  describe("breaksOlderRelease", () => {
    const col = (type: string, notNull = false, dflt?: unknown) => ({ name: "", type, notNull, ...(dflt !== undefined ? { default: dflt } : {}) });
    const base: Snapshot = { tables: { t: { columns: { id: col("text", true), note: col("text") } } } };
    const cases: [string, Snapshot, string][] = [
      ["a dropped table", { tables: {} }, "table t is gone (dropped or renamed): the old core still reads it"],
      ["a dropped or renamed column", { tables: { t: { columns: { id: col("text", true) } } } }, "column t.note is gone (dropped or renamed): the old core still reads it"],
      ["a changed type", { tables: { t: { columns: { id: col("integer", true), note: col("text") } } } }, "column t.id changes type from text to integer"],
      [
        "a column made required",
        { tables: { t: { columns: { id: col("text", true), note: col("text", true) } } } },
        "column t.note becomes NOT NULL without a default: the old core may insert rows without it",
      ],
      [
        "a new required column",
        { tables: { t: { columns: { ...base.tables.t!.columns, kind: col("text", true) } } } },
        "new column t.kind is NOT NULL without a default: the old core inserts rows without it",
      ],
    ];
    for (const [name, next, why] of cases) test(`flags ${name}`, () => expect(breaksOlderRelease(base, next)).toEqual([why]));

    test("lets through new tables, nullable columns and required columns with a default", () => {
      const next: Snapshot = { tables: { t: { columns: { ...base.tables.t!.columns, a: col("text"), b: col("integer", true, 0) } }, u: { columns: { id: col("text", true) } } } };
      expect(breaksOlderRelease(base, next)).toEqual([]);
    });
  });

  test("the embedded index carries every migration in the journal", () => {
    const journal = JSON.parse(readFileSync(join(dir, "meta", "_journal.json"), "utf8"));
    expect(readFileSync(join(dir, "index.ts"), "utf8")).toBe(renderIndex(journal));
    const sqlFiles = readdirSync(dir)
      .filter((f) => f.endsWith(".sql"))
      .sort();
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

  test("every hand-written trigger sits in the migrations after the statement that last creates its table", () => {
    const journal = JSON.parse(readFileSync(join(dir, "meta", "_journal.json"), "utf8")) as { entries: { tag: string }[] };
    const migrations = journal.entries.map((e) => ({ tag: e.tag, sql: readFileSync(join(dir, `${e.tag}.sql`), "utf8") }));
    const triggers = triggerFiles().flatMap((f) => parseTriggers(readFileSync(f, "utf8"), f));
    expect(triggers.map((t) => t.name)).toEqual(expect.arrayContaining(["audit_log_no_update", "audit_log_no_delete", "audit_log_no_replace"]));
    expect(placeTriggers(migrations, triggers)).toEqual([]);
    const store = openStore(tempDir());
    const inDb = (store.sqlite.query("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as { name: string }[]).map((r) => r.name);
    store.close();
    expect(inDb).toEqual(expect.arrayContaining(triggers.map((t) => t.name)));
  });

  describe("placeTriggers", () => {
    const trigger = parseTriggers("-- why\nCREATE TRIGGER `t_no_delete` BEFORE DELETE ON `t` BEGIN SELECT RAISE(ABORT, 'no'); END;")[0]!;
    const create = "CREATE TABLE `t` (\n\t`id` integer PRIMARY KEY NOT NULL\n);\n";
    const rebuild = "CREATE TABLE `__new_t` (`id` integer);--> statement-breakpoint\nDROP TABLE `t`;--> statement-breakpoint\nALTER TABLE `__new_t` RENAME TO `t`;";

    test("appends a trigger to the newest migration when it creates the table", () => {
      const ms: Migration[] = [
        { tag: "0000_a", sql: "CREATE TABLE `other` (`id` integer);" },
        { tag: "0001_t", sql: create },
      ];
      expect(placeTriggers(ms, [trigger])).toEqual(["0001_t"]);
      expect(ms[1]!.sql.split("--> statement-breakpoint").map((s) => s.trim())).toEqual([create.trim(), trigger.sql]);
      expect(placeTriggers(ms, [trigger])).toEqual([]);
    });

    test("a table a later migration rebuilds (which drops its triggers) gets them again after the rebuild", () => {
      const ms: Migration[] = [
        { tag: "0000_t", sql: `${create}--> statement-breakpoint\n${trigger.sql}` },
        { tag: "0001_alter", sql: rebuild },
      ];
      expect(placeTriggers(ms, [trigger])).toEqual(["0001_alter"]);
      expect(ms[1]!.sql.endsWith(`${trigger.sql}\n`)).toBe(true);
    });

    test("a trigger missing after a migration that may have run already is an error, not an edit of that migration", () => {
      const ms: Migration[] = [
        { tag: "0000_t", sql: create },
        { tag: "0001_other", sql: "CREATE TABLE `u` (`id` integer);" },
      ];
      expect(() => placeTriggers(ms, [trigger])).toThrow(/t_no_delete is missing after 0000_t .* new migration/);
      expect(ms[0]!.sql).toBe(create);
    });

    test("a hand-written file holds only CREATE TRIGGER statements", () => {
      expect(() => parseTriggers("DROP TABLE `audit_log`;", "x.triggers.sql")).toThrow(/x.triggers.sql: expected only CREATE TRIGGER/);
    });
  });
});
