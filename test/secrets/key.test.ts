import { describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { open, seal } from "../../core/secrets/cipher.ts";
import { secretsChecks } from "../../core/secrets/offline.ts";
import { makeApp, tempDir, testConfig } from "../helpers/app.ts";

const VALUE = "nas-admin-Zp3Wq8Lk2Vx7Rm4Tn9Hb";
const OTHER_KEY = Buffer.alloc(32, 7).toString("base64");

/** A data dir with one stored secret, closed again; returns its dir. */
async function dirWithSecret(env: Record<string, string> = {}): Promise<string> {
  const h = await makeApp(env);
  const res = await h.request("/api/secrets/NAS_PASSWORD", { method: "PUT", json: { value: VALUE } });
  expect(res.status).toBe(200);
  await h.close(false);
  return h.dataDir;
}

const rawDb = (dir: string) => ["bakerst.db", "bakerst.db-wal"].map((f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f)).toString("latin1") : "")).join("");

describe("Secrets at rest", () => {
  test("the first start creates a 0600 key file beside the database; the value is sealed and reads again after a restart", async () => {
    const dir = await dirWithSecret();
    expect(statSync(join(dir, "secrets.key")).mode & 0o777).toBe(0o600);
    expect(rawDb(dir)).not.toContain(VALUE);
    const h = await makeApp({}, { dataDir: dir });
    try {
      expect(h.need("secrets").get("NAS_PASSWORD")).toBe(VALUE);
      expect(h.s.secrets()).toContain(VALUE);
    } finally {
      await h.close();
    }
  });

  test("a wrong key file stops start-up naming the key and its ids; nothing is lost, and the right key reads it again", async () => {
    const dir = await dirWithSecret();
    const right = readFileSync(join(dir, "secrets.key"));
    writeFileSync(join(dir, "secrets.key"), `${OTHER_KEY}\n`, { mode: 0o600 });
    await expect(makeApp({}, { dataDir: dir })).rejects.toThrow(
      /config SECRETS_KEY_FILE \(.*secrets\.key\): expected the key that sealed the 1 stored secret\(s\) \(key id [0-9a-f]{16}\), but .* holds key id [0-9a-f]{16}/,
    );
    writeFileSync(join(dir, "secrets.key"), right);
    const h = await makeApp({}, { dataDir: dir });
    try {
      expect(h.need("secrets").get("NAS_PASSWORD")).toBe(VALUE);
    } finally {
      await h.close();
    }
  });

  test("a copy of the database without its key is unreadable: start-up refuses (missing key, or another key), and its bytes hold no value", async () => {
    const dir = await dirWithSecret();
    const copy = tempDir();
    for (const f of ["bakerst.db", "bakerst.db-wal", "bakerst.db-shm"]) if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(copy, f));
    rmSync(dir, { recursive: true, force: true });
    await expect(makeApp({}, { dataDir: copy })).rejects.toThrow(
      /config SECRETS_KEY_FILE .*the key file .*secrets\.key that encrypted the 1 stored secret\(s\), but it is missing/,
    );
    // No key was made up in its place, so the right one can still be put back.
    expect(existsSync(join(copy, "secrets.key"))).toBe(false);
    await expect(makeApp({ SECRETS_KEY: OTHER_KEY }, { dataDir: copy })).rejects.toThrow(/config SECRETS_KEY \(environment\): expected the key that sealed/);
    expect(rawDb(copy)).not.toContain(VALUE);
    rmSync(copy, { recursive: true, force: true });
  });

  test("SECRETS_KEY from the environment (a Kubernetes Secret) is used instead of a file, and a malformed one is named", async () => {
    await expect(makeApp({ SECRETS_KEY: "too-short" })).rejects.toThrow(/config SECRETS_KEY \(environment\): expected 32 bytes as base64/);
    const dir = await dirWithSecret({ SECRETS_KEY: OTHER_KEY });
    expect(existsSync(join(dir, "secrets.key"))).toBe(false);
    const h = await makeApp({ SECRETS_KEY: Buffer.alloc(32, 7).toString("hex") }, { dataDir: dir });
    try {
      expect(h.need("secrets").get("NAS_PASSWORD")).toBe(VALUE);
    } finally {
      await h.close();
    }
  });

  test("SECRETS_KEY_FILE names a mounted key that must exist", async () => {
    const mount = join(tempDir(), "key");
    await expect(makeApp({ SECRETS_KEY_FILE: mount })).rejects.toThrow(/config SECRETS_KEY_FILE .*does not exist/);
    writeFileSync(mount, OTHER_KEY);
    const h = await makeApp({ SECRETS_KEY_FILE: mount });
    try {
      expect(existsSync(join(h.dataDir, "secrets.key"))).toBe(false);
    } finally {
      await h.close();
    }
  });

  test("a sealed value opens only under its own key and name, with a fresh nonce each time", () => {
    const key = Buffer.alloc(32, 1);
    const a = seal(key, "A_TOKEN", VALUE);
    const b = seal(key, "A_TOKEN", VALUE);
    expect(a.nonce.equals(b.nonce)).toBe(false);
    expect(open(key, "A_TOKEN", a)).toBe(VALUE);
    expect(open(key, "B_TOKEN", a)).toBeUndefined();
    expect(open(Buffer.alloc(32, 2), "A_TOKEN", a)).toBeUndefined();
    const flipped = Buffer.from(a.sealed);
    flipped[0]! ^= 1;
    expect(open(key, "A_TOKEN", { nonce: a.nonce, sealed: flipped })).toBeUndefined();
  });

  test("bakerst doctor says where the key comes from and whether it opens what is stored, creating nothing", async () => {
    const fresh = tempDir();
    expect(secretsChecks(testConfig({}, fresh))).toEqual([{ ok: true, name: "secrets key", detail: expect.stringContaining("none yet: the first start creates") }]);
    expect(existsSync(join(fresh, "secrets.key"))).toBe(false);
    const dir = await dirWithSecret();
    expect(secretsChecks(testConfig({}, dir))[0]).toMatchObject({ ok: true, detail: expect.stringMatching(/^key id [0-9a-f]{16} from .*secrets\.key; opens all 1 stored secret/) });
    const wrong = secretsChecks(testConfig({ SECRETS_KEY: OTHER_KEY }, dir))[0]!;
    expect(wrong).toMatchObject({ ok: false, name: "secrets key", detail: expect.stringContaining("1 of 1 stored secret(s) were sealed with another key") });
    rmSync(join(dir, "secrets.key"));
    expect(secretsChecks(testConfig({}, dir))[0]).toMatchObject({ ok: false, detail: expect.stringContaining("but it is missing") });
    expect(existsSync(join(dir, "secrets.key"))).toBe(false);
  });
});
