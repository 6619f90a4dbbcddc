import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Check } from "../cli/check.ts";
import { type Config, ConfigError } from "../config/index.ts";
import { loadKey, open, type SecretsKey } from "./cipher.ts";
import { secretsKeys } from "./keys.ts";

interface SealedRow {
  name: string;
  nonce: Uint8Array;
  sealed: Uint8Array;
  key_id: string;
}

/** The sealed rows, read from the database file without opening the store (no migrations, no lock): none before the first start. */
function sealedRows(dataDir: string): SealedRow[] {
  const path = join(dataDir, "bakerst.db");
  if (!existsSync(path)) return [];
  const db = new Database(path, { readonly: true });
  try {
    return db.query("SELECT name, nonce, sealed, key_id FROM secrets").all() as SealedRow[];
  } catch {
    return []; // a database from before secrets existed
  } finally {
    db.close();
  }
}

/** The key and rows as a running server would find them, without creating a key. */
function look(config: Config): { rows: SealedRow[]; key?: SecretsKey; error?: ConfigError } {
  const rows = sealedRows(config.dataDir);
  try {
    return { rows, key: loadKey(config.read(secretsKeys), config.dataDir, rows.length, { create: false }) };
  } catch (err) {
    if (err instanceof ConfigError) return { rows, error: err };
    throw err;
  }
}

/** A stored secret's value, for commands that run beside the server (`bakerst doctor` checking a bot token kept in Secrets). */
export function storedSecret(config: Config, name: string): string | undefined {
  const { rows, key } = look(config);
  const row = rows.find((r) => r.name === name);
  return row && key && row.key_id === key.id ? open(key.bytes, name, { nonce: Buffer.from(row.nonce), sealed: Buffer.from(row.sealed) }) : undefined;
}

/** `bakerst doctor`: where the secrets key comes from, and whether it opens what is stored. */
export function secretsChecks(config: Config): Check[] {
  const { rows, key, error } = look(config);
  if (error)
    return [
      {
        ok: false,
        name: "secrets key",
        detail: error.message,
        fix: "put the key that sealed the stored secrets back (SECRETS_KEY or SECRETS_KEY_FILE); bakerst will not start without it",
      },
    ];
  if (!key) return [{ ok: true, name: "secrets key", detail: `none yet: the first start creates ${join(config.dataDir, "secrets.key")} (0600)` }];
  const foreign = rows.filter((r) => r.key_id !== key.id).length;
  if (foreign) {
    return [
      {
        ok: false,
        name: "secrets key",
        detail: `${key.source} holds key id ${key.id}, but ${foreign} of ${rows.length} stored secret(s) were sealed with another key`,
        fix: "put the right key back (bakerst will not start with this one); nothing is changed until then",
      },
    ];
  }
  const unreadable = rows.filter((r) => open(key.bytes, r.name, { nonce: Buffer.from(r.nonce), sealed: Buffer.from(r.sealed) }) === undefined).map((r) => r.name);
  if (unreadable.length) return [{ ok: false, name: "secrets", detail: `damaged, they do not decrypt: ${unreadable.join(", ")}`, fix: "set them again (PUT /api/secrets/:name)" }];
  return [
    { ok: true, name: "secrets key", detail: `key id ${key.id} from ${key.setting === "SECRETS_KEY" ? "SECRETS_KEY" : key.source}; opens all ${rows.length} stored secret(s)` },
  ];
}
