import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makePrivateDir } from "../db/private-files.ts";
import { constantTimeEqual, randomToken, sha256 } from "../util/crypto.ts";

export const TOKEN_FILE = "auth-token";

export interface TokenSource {
  token: string;
  /** True when this start created the token (it is printed once, then). */
  generated: boolean;
  /** "env" when AUTH_TOKEN is set, else the file holding it. */
  from: "env" | string;
}

function writeToken(path: string, token: string): void {
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // writeFileSync's mode is ignored when the file already exists
}

/** AUTH_TOKEN when set; otherwise the token in the data dir, created (32 random bytes, hex, 0600) on first start. */
export function resolveToken(dataDir: string, fromEnv: string | undefined): TokenSource {
  if (fromEnv) return { token: fromEnv, generated: false, from: "env" };
  makePrivateDir(dataDir);
  const path = join(dataDir, TOKEN_FILE);
  if (existsSync(path)) {
    const token = readFileSync(path, "utf8").trim();
    if (token.length >= 16) return { token, generated: false, from: path };
  }
  const token = randomToken(32);
  writeToken(path, token);
  return { token, generated: true, from: path };
}

export function rotateToken(dataDir: string): string {
  makePrivateDir(dataDir);
  const token = randomToken(32);
  writeToken(join(dataDir, TOKEN_FILE), token);
  return token;
}

/** Compares fixed-length digests so neither length nor content leaks through timing. */
export function tokensEqual(given: string, expected: string): boolean {
  return constantTimeEqual(sha256(given), sha256(expected));
}

/**
 * The token the server checks against. A token kept in the data dir is
 * re-read when the file changes, so `bakerst token --rotate` takes effect on a
 * running server within a second.
 */
export class TokenKeeper {
  private source: TokenSource;
  private mtimeMs = 0;
  private checkedAt = 0;
  /** Told when the token file changed under a running server (`bakerst token --rotate`). */
  onRotate: () => void = () => {};

  constructor(
    private dataDir: string,
    private fromEnv: string | undefined,
  ) {
    this.source = resolveToken(dataDir, fromEnv);
    if (this.source.from !== "env") this.mtimeMs = statSync(this.source.from).mtimeMs;
  }

  get generated(): boolean {
    return this.source.generated;
  }

  get from(): string {
    return this.source.from;
  }

  get token(): string {
    if (this.source.from === "env") return this.source.token;
    const now = Date.now();
    if (now - this.checkedAt > 1000) {
      this.checkedAt = now;
      try {
        const m = statSync(this.source.from).mtimeMs;
        if (m !== this.mtimeMs) {
          this.mtimeMs = m;
          this.source = { ...resolveToken(this.dataDir, this.fromEnv), generated: false };
          this.onRotate();
        }
      } catch {
        // file removed: keep the token we have rather than lock the owner out
      }
    }
    return this.source.token;
  }
}
