/**
 * The data dir holds the conversations, the session hashes and the API
 * token: another user on the machine must not read any of it, whatever the
 * umask bakerst was started with or the modes an older version left.
 */
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AREAS } from "../../core/areas.ts";
import { formatChecks, runDoctor } from "../../core/cli/doctor.ts";
import { createServices } from "../../core/services.ts";
import { createLogger } from "../../core/telemetry/log.ts";
import { makeApp, tempDir, testConfig } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";

const mode = (p: string) => statSync(p).mode & 0o777;
const dirs: string[] = [];
const scratch = () => {
  const d = tempDir("bakerst-modes-");
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("Data dir modes", () => {
  test("a new data dir is 0700 and the database, its WAL and shared memory, and the token are 0600, under umask 022", async () => {
    const old = process.umask(0o022);
    const dataDir = join(scratch(), "data");
    try {
      const h = await makeApp({ AUTH_TOKEN: undefined }, { dataDir });
      h.s.conversations.create("written, so the WAL has content");
      for (const f of ["bakerst.db", "bakerst.db-wal", "bakerst.db-shm", "auth-token"]) expect({ f, mode: mode(join(dataDir, f)) }).toEqual({ f, mode: 0o600 });
      expect(mode(dataDir)).toBe(0o700);
      await h.close(false);
    } finally {
      process.umask(old);
    }
  });

  test("an existing data dir readable by others is made private at start, with a warning naming each path, and its data kept", async () => {
    const dataDir = join(scratch(), "data");
    mkdirSync(join(dataDir, "extra"), { recursive: true, mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const db = new Database(join(dataDir, "bakerst.db"), { create: true });
    db.exec("PRAGMA journal_mode = WAL; CREATE TABLE canary (v TEXT); INSERT INTO canary VALUES ('kept')");
    db.close();
    const token = "a-token-from-an-older-version-0123456789";
    writeFileSync(join(dataDir, "auth-token"), `${token}\n`, { mode: 0o644 });
    writeFileSync(join(dataDir, "extra", "notes.txt"), "x");
    chmodSync(join(dataDir, "extra", "notes.txt"), 0o664);
    chmodSync(join(dataDir, "bakerst.db"), 0o644);

    const lines: string[] = [];
    const s = await createServices(testConfig({ AUTH_TOKEN: undefined }, dataDir), { log: createLogger("warn", {}, (l) => lines.push(l) > 0) });
    try {
      const warned = lines.map((l) => JSON.parse(l) as { msg: string; path: string; from: string; to: string });
      expect(warned.map((w) => [w.path, w.from, w.to]).sort()).toEqual(
        [
          [dataDir, "0755", "0700"],
          [join(dataDir, "auth-token"), "0644", "0600"],
          [join(dataDir, "bakerst.db"), "0644", "0600"],
          [join(dataDir, "extra"), "0755", "0700"],
          [join(dataDir, "extra", "notes.txt"), "0664", "0600"],
        ].sort(),
      );
      expect(warned.every((w) => w.msg === "data path was readable by others; made private")).toBe(true);
      for (const p of [dataDir, join(dataDir, "extra")]) expect(mode(p)).toBe(0o700);
      for (const f of ["auth-token", "bakerst.db", "extra/notes.txt"]) expect(mode(join(dataDir, f))).toBe(0o600);
      expect(s.token.token).toBe(token);
      expect(s.store.sqlite.query("select v from canary").get()).toEqual({ v: "kept" });
    } finally {
      await s.close();
    }
  });

  test("doctor names what others can read, and is content once it is private", async () => {
    const dataDir = join(scratch(), "data");
    const config = testConfig({}, dataDir);
    const first = await runDoctor(config, AREAS);
    expect(formatChecks(first)).toContain(`✓ file modes: ${dataDir} and everything in it are private`);
    chmodSync(join(dataDir, "bakerst.db"), 0o640);
    chmodSync(dataDir, 0o711);
    const out = formatChecks(await runDoctor(config, AREAS));
    expect(out).toContain(`✗ file modes: readable by others: ${dataDir} (0711), ${join(dataDir, "bakerst.db")} (0640)`);
    expect(out).toContain(`fix: chmod -R go-rwx ${dataDir}`);
  });

  test("bakerst serve sets umask 077 for itself, whatever it was started with", async () => {
    const dataDir = join(scratch(), "data");
    const root = join(import.meta.dir, "..", "..");
    const proc = Bun.spawn(["sh", "-c", `umask 022; exec "${process.execPath}" core/main.ts serve`], {
      cwd: root,
      env: { ...process.env, BAKERST_DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", AUTH_TOKEN: "serve-token-0123456789abcdef", LOG_LEVEL: "warn" },
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      const umask = () => /^Umask:\s+(\d+)$/m.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"))?.[1];
      await waitFor("the server to set its umask", () => umask() === "0077", 20_000);
      await waitFor("the database", () => existsSync(join(dataDir, "bakerst.db-wal")), 20_000);
      expect(mode(dataDir)).toBe(0o700);
      expect(mode(join(dataDir, "bakerst.db-wal"))).toBe(0o600);
    } finally {
      proc.kill();
      await proc.exited;
    }
  }, 30_000);
});
