/**
 * `bakerst backup` and `bakerst restore`: a consistent copy while the server
 * writes, a restore that keeps the database id file right (so start-up
 * accepts it), rotation, and the files a restore must refuse without
 * touching what is there.
 */

import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BackupError, backup, backupInto, inspect, restore, rotatedName } from "../../core/db/backup.ts";
import { ID_FILE } from "../../core/db/guard.ts";
import { sha256Hex } from "../../core/util/crypto.ts";
import { makeApp, TOKEN, tempDir } from "../helpers/app.ts";
import { compiledBinary, startBinary } from "../helpers/binary.ts";
import { chatLoad } from "../helpers/load.ts";
import { waitFor } from "../helpers/nats.ts";
import { type AnthropicStandIn, echo, startAnthropicStandIn } from "../standins/anthropic.ts";
import { prompt } from "../standins/script.ts";

const hashOf = (file: string) => sha256Hex(readFileSync(file, "latin1"));
const idOf = (dataDir: string) => readFileSync(join(dataDir, ID_FILE), "utf8").trim();

/** A data dir with a database holding `n` notifications, its server stopped. */
async function dataDirWith(n: number): Promise<string> {
  const h = await makeApp();
  for (let i = 0; i < n; i++) h.s.notifications.notify({ code: "note", message: `note ${i}` });
  await h.close(false);
  return h.dataDir;
}

const count = async (dataDir: string) => {
  const h = await makeApp({}, { dataDir });
  const n = h.s.notifications.list({ limit: 1000 }).length;
  await h.close(false);
  return n;
};

describe("bakerst backup", () => {
  test("refuses a file that exists, and writes nothing", async () => {
    const dataDir = await dataDirWith(1);
    const file = join(tempDir("bakerst-backups-"), "there.db");
    writeFileSync(file, "precious");
    expect(() => backup(dataDir, file)).toThrow(BackupError);
    expect(readFileSync(file, "utf8")).toBe("precious");
  });

  test("refuses a database that is not the one the data dir had, so rotation never replaces good backups with it", async () => {
    const dataDir = await dataDirWith(1);
    const other = await dataDirWith(1);
    for (const f of ["bakerst.db", "bakerst.db-wal", "bakerst.db-shm"]) {
      rmSync(join(dataDir, f), { force: true });
      if (existsSync(join(other, f))) copyFileSync(join(other, f), join(dataDir, f));
    }
    const dir = tempDir("bakerst-backups-");
    expect(() => backup(dataDir, join(dir, "x.db"))).toThrow(/not the database this data dir had/);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("--into keeps the newest N time-named backups and touches nothing else in the folder", async () => {
    const dataDir = await dataDirWith(3);
    const dir = tempDir("bakerst-backups-");
    writeFileSync(join(dir, "notes.txt"), "mine");
    const days = [1, 2, 3, 4, 5].map((d) => new Date(Date.UTC(2026, 10, d, 3, 0, 0)));
    const removed = days.map((d) => backupInto(dataDir, dir, 3, d).removed);
    expect(removed).toEqual([[], [], [], [rotatedName(days[0]!)], [rotatedName(days[1]!)]]);
    expect(readdirSync(dir).sort()).toEqual(["bakerst-20261103T030000Z.db", "bakerst-20261104T030000Z.db", "bakerst-20261105T030000Z.db", "notes.txt"]);
  });
});

describe("bakerst restore", () => {
  test("puts a backup in place, keeps the database that was there beside it, and start-up accepts it", async () => {
    const source = await dataDirWith(5);
    const file = join(tempDir("bakerst-backups-"), "five.db");
    const made = backup(source, file);
    const target = await dataDirWith(2);
    const before = idOf(target);
    const r = restore(target, file);
    expect(r).toMatchObject({ id: made.id, previousId: before });
    expect(idOf(target)).toBe(made.id);
    expect(existsSync(join(target, r.savedAs!))).toBe(true);
    expect(await count(target)).toBe(5);
  });

  test("into an empty data dir", async () => {
    const source = await dataDirWith(4);
    const file = join(tempDir("bakerst-backups-"), "four.db");
    const made = backup(source, file);
    const target = join(tempDir(), "fresh");
    expect(restore(target, file).savedAs).toBeUndefined();
    expect(idOf(target)).toBe(made.id);
    expect(await count(target)).toBe(4);
  });

  const bad: [string, (dir: string) => string | Promise<string>, RegExp][] = [
    ["an empty file", (dir) => write(dir, "empty.db", ""), /not a SQLite database/],
    ["a file that is not SQLite", (dir) => write(dir, "text.db", "hello, this is not a database at all"), /not a SQLite database/],
    ["a SQLite database that is not bakerst's", (dir) => sqlite(dir, (db) => db.exec("CREATE TABLE t (x)")), /not a bakerst database/],
    ["a backup made by a newer bakerst", (dir) => newer(dir), /newer bakerst/],
    ["a damaged backup", (dir) => damaged(dir), /damaged|cannot be read|not a SQLite/],
  ];
  for (const [name, make, why] of bad) {
    test(`refuses ${name} and changes nothing`, async () => {
      const target = await dataDirWith(2);
      const db = hashOf(join(target, "bakerst.db"));
      const id = idOf(target);
      const file = await make(tempDir("bakerst-backups-"));
      expect(() => restore(target, file)).toThrow(why);
      expect(hashOf(join(target, "bakerst.db"))).toBe(db);
      expect(idOf(target)).toBe(id);
      expect(readdirSync(target).filter((f) => f.includes("restor"))).toEqual([]);
    });
  }
});

function write(dir: string, name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

function sqlite(dir: string, fill: (db: Database) => void): string {
  const file = join(dir, "foreign.db");
  const db = new Database(file, { create: true });
  fill(db);
  db.close();
  return file;
}

/** A real backup whose migrations table has one more row than this bakerst knows. */
async function newer(dir: string): Promise<string> {
  const file = join(dir, "from-the-future.db");
  backup(await dataDirWith(1), file);
  const db = new Database(file);
  db.query("INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)").run("f".repeat(64), Date.now() + 86_400_000);
  db.close();
  return file;
}

/** A real backup with everything after its first page overwritten. */
async function damaged(dir: string): Promise<string> {
  const file = join(dir, "damaged.db");
  backup(await dataDirWith(50), file);
  const bytes = readFileSync(file);
  bytes.fill(0xff, 4096);
  writeFileSync(file, bytes);
  return file;
}

describe("bakerst backup and restore, the binary", () => {
  let bin: string;
  let model: AnthropicStandIn;
  beforeAll(async () => {
    bin = await compiledBinary();
    model = startAnthropicStandIn();
    model.always(prompt(/^load /), echo);
  }, 120_000);
  const running: { stop(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const r of running) await r.stop();
    await model.stop();
  });

  const messagesIn = (file: string) => {
    const db = new Database(file, { readonly: true });
    const n = (db.query("SELECT count(*) AS n FROM messages").get() as { n: number }).n;
    db.close();
    return n;
  };

  test("backs up a server while chats write to it; refuses to restore while it runs; restores once it stopped", async () => {
    const dataDir = join(tempDir(), "data");
    const server = await startBinary({ AUTH_TOKEN: TOKEN, BAKERST_DATA_DIR: dataDir, ANTHROPIC_API_KEY: "sk-ant-test-key-0123456789", ANTHROPIC_BASE_URL: model.url });
    running.push(server);
    const env = { PATH: "/usr/bin:/bin", BAKERST_DATA_DIR: dataDir, HOME: dataDir };
    const dir = tempDir("bakerst-backups-");
    const load = chatLoad(server.url, TOKEN, { clients: 2 });
    const files: string[] = [];
    for (const until of [20, 40]) {
      await waitFor(`${until} chats`, () => load.done.length >= until, 20_000);
      const file = join(dir, `live-${until}.db`);
      const made = Bun.spawnSync([bin, "backup", file], { env });
      expect(made.stdout.toString()).toMatch(/^backed up database \S+ \(\d+ migrations, [\d.]+ MB\) to /);
      expect(made.exitCode).toBe(0);
      files.push(file);
    }
    expect((await load.stop()).filter((o) => !o.ok)).toEqual([]);
    const [first, second] = files.map((f) => inspect(f, "the backup"));
    expect(first!.id).toBe(idOf(dataDir));
    expect(messagesIn(files[1]!)).toBeGreaterThan(messagesIn(files[0]!));
    expect(second!.id).toBe(first!.id);

    const refused = Bun.spawnSync([bin, "restore", files[0]!], { env });
    expect(refused.stderr.toString()).toContain(`bakerst is running on ${dataDir} (pid ${server.pid}`);
    expect(refused.exitCode).toBe(1);
    expect(messagesIn(join(dataDir, "bakerst.db"))).toBeGreaterThanOrEqual(messagesIn(files[1]!));

    await server.stop();
    running.pop();
    const restored = Bun.spawnSync([bin, "restore", files[0]!], { env });
    expect(restored.stdout.toString()).toContain(`restored database ${first!.id}`);
    expect(restored.exitCode).toBe(0);
    const again = await startBinary({ AUTH_TOKEN: TOKEN, BAKERST_DATA_DIR: dataDir });
    running.push(again);
    expect((await fetch(`${again.url}/readyz`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect(messagesIn(join(dataDir, "bakerst.db"))).toBe(messagesIn(files[0]!));
  });
});
