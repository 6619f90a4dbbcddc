import { eq } from "drizzle-orm";
import type { AuditLog } from "../audit/service.ts";
import type { Db } from "../db/client.ts";
import { AppError } from "../errors.ts";
import type { Logger } from "../telemetry/log.ts";
import { open, type SecretsKey, seal } from "./cipher.ts";
import { secrets } from "./secrets.sql.ts";

/** Upper-case letters, digits and underscores, starting with a letter: the names environment variables use. */
export const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
export const MAX_SECRET_BYTES = 16 * 1024;

/** What the API and the console see of a secret: never its value. */
export interface SecretInfo {
  name: string;
  /** Bullets, and the last four characters of a value of 24 or more. */
  masked: string;
  createdAt: number;
  updatedAt: number;
  /** Who wrote it last: `web`, `api`, `cli`. */
  updatedBy: string;
  /** What reads it (`gateway:telegram`, `skill:<id>`), while it does. */
  users: string[];
}

export type SecretListener = (value: string | undefined) => void;

interface Held {
  value: string;
  createdAt: number;
  updatedAt: number;
  updatedBy: string;
}

export function checkSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new AppError(
      "invalid_request",
      `name: a secret's name is upper-case letters, digits and _ starting with a letter, at most 64 (like TELEGRAM_BOT_TOKEN); got ${JSON.stringify(name.slice(0, 80))}`,
    );
  }
}

function checkValue(value: string): void {
  if (value.length === 0) throw new AppError("invalid_request", "value: must not be empty (DELETE the secret to remove it)");
  if (Buffer.byteLength(value) > MAX_SECRET_BYTES) throw new AppError("invalid_request", `value: at most ${MAX_SECRET_BYTES} bytes`);
  // Line breaks are kept (a PEM key has them); other control characters are a paste gone wrong.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(value)) throw new AppError("invalid_request", "value: holds control characters (only line breaks and tabs are kept)");
}

export function mask(value: string): string {
  return value.length >= 24 ? `••••••••${value.slice(-4)}` : "••••••••";
}

/**
 * The owner's secrets: written over the API (write-only), sealed at rest,
 * read in the process by what uses them (a chat platform's token, a skill's
 * environment), and handed to the redaction of every output. Values are
 * decrypted once at start and kept in memory: the process holds them anyway
 * to use and to redact them.
 */
export class SecretStore {
  private held = new Map<string, Held>();
  private listeners = new Map<string, Set<{ cb?: SecretListener; user?: string }>>();
  private everHeld = new Set<string>();
  private cachedValues: string[] | undefined;

  constructor(private d: { db: Db; key: SecretsKey; audit: AuditLog; log: Logger; now?: () => number }) {
    for (const row of d.db.select().from(secrets).all()) {
      const value = open(d.key.bytes, row.name, { nonce: row.nonce, sealed: row.sealed });
      // The area checked the key id of every row before; a value that still does not open was damaged or moved.
      if (value === undefined) d.log.error("a stored secret does not decrypt with its key and is left out; set it again", { name: row.name });
      else {
        this.held.set(row.name, { value, createdAt: row.createdAt, updatedAt: row.updatedAt, updatedBy: row.updatedBy });
        this.everHeld.add(value);
      }
    }
  }

  private now(): number {
    return this.d.now?.() ?? Date.now();
  }

  /** Stores (or replaces) a secret; whatever uses it is told. The value is never logged nor audited. */
  set(name: string, value: string, actor: string, address?: string): { created: boolean; updatedAt: number } {
    checkSecretName(name);
    checkValue(value);
    const before = this.held.get(name);
    const now = this.now();
    const { nonce, sealed } = seal(this.d.key.bytes, name, value);
    const row = { name, nonce, sealed, keyId: this.d.key.id, createdAt: before?.createdAt ?? now, updatedAt: now, updatedBy: actor };
    this.d.db
      .insert(secrets)
      .values(row)
      .onConflictDoUpdate({ target: secrets.name, set: { nonce, sealed, keyId: this.d.key.id, updatedAt: now, updatedBy: actor } })
      .run();
    this.held.set(name, { value, createdAt: row.createdAt, updatedAt: now, updatedBy: actor });
    if (!this.everHeld.has(value)) this.everHeld.add(value), (this.cachedValues = undefined);
    this.d.audit.record({ action: "secret.set", outcome: "ok", actor, target: name, ...(address ? { address } : {}), detail: { created: !before } });
    if (before?.value !== value) this.tell(name, value);
    return { created: !before, updatedAt: now };
  }

  /** Removes a secret; false when there was none. Whatever used it is told (with undefined). */
  delete(name: string, actor: string, address?: string): boolean {
    checkSecretName(name);
    if (!this.held.has(name)) return false;
    this.d.db.delete(secrets).where(eq(secrets.name, name)).run();
    this.held.delete(name);
    // Its value stays in the redaction list until the process ends: output made while it was in use may still pass by.
    this.d.audit.record({ action: "secret.deleted", outcome: "ok", actor, target: name, ...(address ? { address } : {}) });
    this.tell(name, undefined);
    return true;
  }

  /** Every secret, masked, by name. */
  names(): SecretInfo[] {
    return [...this.held.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, h]) => ({ name, masked: mask(h.value), createdAt: h.createdAt, updatedAt: h.updatedAt, updatedBy: h.updatedBy, users: this.users(name) }));
  }

  /** The value, for use inside the process only (never an HTTP answer, a log line or a tool result). */
  get(name: string): string | undefined {
    return this.held.get(name)?.value;
  }

  has(name: string): boolean {
    return this.held.has(name);
  }

  /**
   * Calls `cb` with the new value (undefined once deleted) whenever the secret
   * changes, so what uses it reconnects without a restart; `user` lists the
   * caller under the secret while subscribed. Returns the unsubscribe.
   */
  onChange(name: string, cb: SecretListener, user?: string): () => void {
    return this.listen(name, { cb, user });
  }

  /** Lists `user` under the secret (it reads it, e.g. a skill's environment) until the returned function is called. */
  use(name: string, user: string): () => void {
    return this.listen(name, { user });
  }

  /**
   * Every value ever held by this process, for the redaction of output. Kept
   * after a delete or a change: output made while the old value was in use
   * may still come by.
   */
  values(): readonly string[] {
    return (this.cachedValues ??= [...this.everHeld]);
  }

  private listen(name: string, entry: { cb?: SecretListener; user?: string }): () => void {
    checkSecretName(name);
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(entry);
    return () => {
      set.delete(entry);
      if (!set.size && this.listeners.get(name) === set) this.listeners.delete(name);
    };
  }

  private users(name: string): string[] {
    return [...new Set([...(this.listeners.get(name) ?? [])].flatMap((e) => (e.user ? [e.user] : [])))].sort();
  }

  private tell(name: string, value: string | undefined): void {
    for (const e of [...(this.listeners.get(name) ?? [])]) {
      try {
        e.cb?.(value);
      } catch (err) {
        this.d.log.error("a secret's listener failed", { name, error: err as Error });
      }
    }
  }
}
