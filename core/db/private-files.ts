import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * The data dir holds the database (conversations, memories, session hashes),
 * the API token and the config file with its secrets: only the owner's user
 * may read any of it. The process umask (set in main.ts) covers what is
 * created from now on; these cover a dir made before, or by a test or a
 * library that passes its own mode.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** How deep below the data dir modes are checked; ours is flat, a deeper tree is not our doing. */
const MAX_DEPTH = 3;

export interface ModeChange {
  path: string;
  from: number;
  to: number;
}

export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Creates an empty file with mode 0600 if it is missing. SQLite gives the
 * WAL and shared-memory files the database file's mode, so creating the
 * database this way keeps all three private whatever the umask.
 */
export function touchPrivate(path: string): void {
  if (!existsSync(path)) closeSync(openSync(path, "a", PRIVATE_FILE_MODE));
}

/** Everything under `dir` (itself included) that group or others may use, with the mode it should have. */
export function tooOpen(dir: string): ModeChange[] {
  const out: ModeChange[] = [];
  const visit = (path: string, depth: number) => {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(path);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) return; // never followed: the target is not ours to change
    const mode = st.mode & 0o777;
    if (mode & 0o077) out.push({ path, from: mode, to: mode & 0o700 });
    if (st.isDirectory() && depth < MAX_DEPTH) {
      for (const name of readdirSync(path)) visit(join(path, name), depth + 1);
    }
  };
  visit(dir, 0);
  return out;
}

/** Takes group and other permissions off the data dir and everything in it; returns what changed. */
export function tightenModes(dir: string): ModeChange[] {
  const changes = tooOpen(dir);
  for (const c of changes) chmodSync(c.path, c.to);
  return changes;
}

export const octal = (mode: number) => mode.toString(8).padStart(4, "0");
