import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { chmodSync, closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../config/index.ts";
import { makePrivateDir, PRIVATE_FILE_MODE } from "../db/private-files.ts";
import type { SecretsSettings } from "./keys.ts";

export const KEY_FILE = "secrets.key";
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** The key that encrypts stored secrets, where it came from, and a fingerprint stored beside each value (never the key). */
export interface SecretsKey {
  bytes: Buffer;
  /** Names the key in messages: `SECRETS_KEY` or `SECRETS_KEY_FILE`. */
  setting: "SECRETS_KEY" | "SECRETS_KEY_FILE";
  /** `environment` or the file's path. */
  source: string;
  /** A fingerprint, so a wrong key is told apart from a damaged value: sha256 of a label and the key, 16 hex digits. */
  id: string;
  /** True when this start created the key file. */
  created: boolean;
}

const fingerprint = (key: Buffer) => createHash("sha256").update("bakerst secrets key id\0").update(key).digest("hex").slice(0, 16);

/** 32 bytes written as base64 (44 characters) or hex (64); anything else is not a key. */
function decodeKey(text: string): Buffer | undefined {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, "hex");
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const b = Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (b.length === KEY_BYTES) return b;
  }
  return undefined;
}

const EXPECTED = "32 bytes as base64 (44 characters) or hex (64), e.g. the output of `openssl rand -base64 32`";

/**
 * SECRETS_KEY when set; else the key file: SECRETS_KEY_FILE (which must exist,
 * being a mounted Secret), or secrets.key in the data dir, which the first
 * start creates (0600) only while no secret is stored, so a lost key is never
 * silently replaced by a new one.
 */
export function loadKey(settings: SecretsSettings, dataDir: string, stored: number): SecretsKey;
export function loadKey(settings: SecretsSettings, dataDir: string, stored: number, opts: { create: false }): SecretsKey | undefined;
export function loadKey(settings: SecretsSettings, dataDir: string, stored: number, opts: { create?: boolean } = {}): SecretsKey | undefined {
  if (settings.SECRETS_KEY) {
    const bytes = decodeKey(settings.SECRETS_KEY);
    if (!bytes) throw new ConfigError("SECRETS_KEY", EXPECTED, "environment");
    return { bytes, setting: "SECRETS_KEY", source: "environment", id: fingerprint(bytes), created: false };
  }
  const path = settings.SECRETS_KEY_FILE ?? join(dataDir, KEY_FILE);
  if (!existsSync(path)) {
    if (settings.SECRETS_KEY_FILE) throw new ConfigError("SECRETS_KEY_FILE", `an existing file holding the secrets key, but ${path} does not exist`, path);
    if (stored > 0) {
      throw new ConfigError(
        "SECRETS_KEY_FILE",
        `the key file ${path} that encrypted the ${stored} stored secret(s), but it is missing; put it back (nothing was changed), or set SECRETS_KEY to that key`,
        path,
      );
    }
    // `bakerst doctor` looks without creating anything.
    if (opts.create === false) return undefined;
    const bytes = randomBytes(KEY_BYTES);
    makePrivateDir(dataDir);
    // O_EXCL: two cores starting on one data dir never write two keys.
    const fd = openSync(path, "wx", PRIVATE_FILE_MODE);
    try {
      writeSync(fd, `${bytes.toString("base64")}\n`);
    } finally {
      closeSync(fd);
    }
    chmodSync(path, PRIVATE_FILE_MODE);
    return { bytes, setting: "SECRETS_KEY_FILE", source: path, id: fingerprint(bytes), created: true };
  }
  if (!statSync(path).isFile()) throw new ConfigError("SECRETS_KEY_FILE", `a file, but ${path} is not one`, path);
  const bytes = decodeKey(readFileSync(path, "utf8"));
  if (!bytes) throw new ConfigError("SECRETS_KEY_FILE", `${path} to hold ${EXPECTED}`, path);
  return { bytes, setting: "SECRETS_KEY_FILE", source: path, id: fingerprint(bytes), created: false };
}

export interface Sealed {
  nonce: Buffer;
  /** The ciphertext with the GCM tag at its end. */
  sealed: Buffer;
}

// The name is authenticated with the value, so a value moved to another name's row does not decrypt.
const aad = (name: string) => Buffer.from(`bakerst secret v1\0${name}`);

/** AES-256-GCM with a fresh random 96-bit nonce per value. */
export function seal(key: Buffer, name: string, value: string): Sealed {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(aad(name));
  const body = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
  return { nonce, sealed: Buffer.concat([body, cipher.getAuthTag()]) };
}

/** The value, or undefined when the key, the name or the bytes are not the ones it was sealed with. */
export function open(key: Buffer, name: string, s: Sealed): string | undefined {
  if (s.nonce.length !== NONCE_BYTES || s.sealed.length < TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, s.nonce);
    decipher.setAAD(aad(name));
    decipher.setAuthTag(s.sealed.subarray(s.sealed.length - TAG_BYTES));
    return Buffer.concat([decipher.update(s.sealed.subarray(0, s.sealed.length - TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    return undefined;
  }
}
