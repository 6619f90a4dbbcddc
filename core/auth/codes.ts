import { randomToken, sha256Hex } from "../util/crypto.ts";

export const LOGIN_CODE_TTL_MS = 15 * 60_000;

const hash = sha256Hex;

/**
 * One-time login codes for the link printed on first start: the URL carries a
 * code that works once and expires within minutes, never the token itself,
 * so a link left in a terminal's scrollback or a shell history opens nothing
 * later. Kept in memory only: a restart voids every outstanding code.
 */
export class LoginCodes {
  private codes = new Map<string, number>();

  constructor(private now: () => number = Date.now) {}

  issue(ttlMs = LOGIN_CODE_TTL_MS): string {
    const code = randomToken(24, "base64url");
    this.prune();
    this.codes.set(hash(code), this.now() + ttlMs);
    return code;
  }

  /** True once for a live code; the code is gone afterwards whatever the answer. */
  redeem(code: string): boolean {
    const h = hash(code);
    const expiresAt = this.codes.get(h);
    this.codes.delete(h);
    return expiresAt !== undefined && expiresAt > this.now();
  }

  private prune(): void {
    const now = this.now();
    for (const [h, at] of this.codes) if (at <= now) this.codes.delete(h);
  }
}
