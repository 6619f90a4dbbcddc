import { eq, lt } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { randomToken, sha256Hex } from "../util/crypto.ts";
import { LoginCodes } from "./codes.ts";
import { sessions } from "./session.sql.ts";

export const SESSION_COOKIE = "bakerst_session";
export const SESSION_TTL_MS = 30 * 86_400_000;

const hash = sha256Hex;

/** What `create` issues (32 random bytes, base64url); nothing else is looked up. */
const SESSION_ID = /^[A-Za-z0-9_-]{16,128}$/;
const MAX_SESSION_COOKIES = 4;

/**
 * The session ids in a Cookie header, read without decoding (ours never need
 * it, so a stray `%` cannot throw). A browser may send the name more than once
 * (another path or a parent domain set one too); each well-formed one is a
 * candidate, up to a few. `malformed` tells a mangled cookie from none.
 */
export function sessionIdsFrom(header: string | null): { ids: string[]; malformed: boolean } {
  const ids: string[] = [];
  let malformed = false;
  if (!header) return { ids, malformed };
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i <= 0 || part.slice(0, i).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(i + 1).trim();
    if (SESSION_ID.test(value) && ids.length < MAX_SESSION_COOKIES) ids.push(value);
    else if (value) malformed = true;
  }
  return { ids, malformed };
}

/** Cookie sessions; only a hash of the id is stored, so a copy of the database logs nobody in. */
export class SessionStore {
  private cache = new Map<string, number>();
  /** One-time codes that POST /api/auth/login exchanges for a session, like the token. */
  readonly loginCodes: LoginCodes;

  constructor(
    private db: Db,
    private now: () => number = Date.now,
  ) {
    this.loginCodes = new LoginCodes(now);
  }

  create(): { id: string; expiresAt: number } {
    const id = randomToken(32, "base64url");
    const createdAt = this.now();
    const expiresAt = createdAt + SESSION_TTL_MS;
    this.db
      .insert(sessions)
      .values({ idHash: hash(id), createdAt, expiresAt })
      .run();
    this.db.delete(sessions).where(lt(sessions.expiresAt, createdAt)).run();
    return { id, expiresAt };
  }

  valid(id: string): boolean {
    const h = hash(id);
    let expiresAt = this.cache.get(h);
    if (expiresAt === undefined) {
      expiresAt = this.db.select().from(sessions).where(eq(sessions.idHash, h)).get()?.expiresAt;
      if (expiresAt === undefined) return false;
      this.cache.set(h, expiresAt);
    }
    return expiresAt > this.now();
  }

  /** Ends a session; false when there was none (already ended, expired and swept, or never issued). */
  revoke(id: string): boolean {
    const h = hash(id);
    this.cache.delete(h);
    return this.db.delete(sessions).where(eq(sessions.idHash, h)).returning({ idHash: sessions.idHash }).all().length > 0;
  }

  /** Drops what this process remembers of sessions; the database (which `token --rotate` empties) decides again. */
  forgetCached(): void {
    this.cache.clear();
  }

  /** After a token rotation every browser must log in again. */
  revokeAll(): void {
    this.cache.clear();
    this.db.delete(sessions).run();
  }
}
