/**
 * Which host paths a skill may be given: each under SKILL_ALLOWED_PATHS
 * (none while that is unset), checked on its real path (so `..` and symlinks
 * cannot lead out), never the data dir, the config file or credentials, nor
 * anything holding them, never over the sandbox's system view.
 */
import { realpathSync, statSync } from "node:fs";
import { AppError } from "../errors.ts";
import { isReservedTarget } from "../jobs/edge.ts";

export interface PathPolicy {
  /** SKILL_ALLOWED_PATHS. */
  allowed: readonly string[];
  /** The data dir, the config file, credential files. */
  forbidden: readonly string[];
}

export const within = (path: string, dir: string) => path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);

export function realOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** A refusal naming the path and why, or the real path. */
export function checkPath(path: string, policy: PathPolicy): { ok: true; real: string } | { ok: false; reason: string } {
  if (!path.startsWith("/")) return { ok: false, reason: "must be an absolute path" };
  if ([...path].some((c) => c.charCodeAt(0) < 0x20) || path.split("/").some((seg) => seg === ".." || seg === "."))
    return { ok: false, reason: 'no "." or ".." segments or control characters' };
  if (!policy.allowed.length) return { ok: false, reason: "SKILL_ALLOWED_PATHS is not set, so skills are given no host path" };
  const real = realOrUndefined(path);
  if (!real) return { ok: false, reason: "does not exist on this host" };
  const allowed = policy.allowed.flatMap((a) => realOrUndefined(a) ?? []);
  if (!allowed.some((a) => within(real, a))) return { ok: false, reason: `${real === path ? "is" : `resolves to ${real}, which is`} not under SKILL_ALLOWED_PATHS` };
  const forbidden = policy.forbidden.flatMap((f) => realOrUndefined(f) ?? []);
  if (forbidden.some((f) => within(real, f) || within(f, real))) return { ok: false, reason: "is or holds bakerst's data dir or credentials" };
  return { ok: true, real };
}

/** A stdio skill's paths as sandbox mounts (at the same place inside); a refusal is an invalid_skill naming the path. */
export function skillMounts(paths: readonly { path: string; writable?: boolean }[], policy: PathPolicy): { source: string; target: string; writable: boolean }[] {
  const out = paths.map((p, i) => {
    const r = checkPath(p.path, policy);
    if (!r.ok) throw new AppError("invalid_skill", `paths.${i} ${JSON.stringify(p.path.slice(0, 200))}: ${r.reason}`);
    const target = p.path.replace(/\/+/g, "/").replace(/(.)\/$/, "$1");
    if (isReservedTarget(target)) throw new AppError("invalid_skill", `paths.${i} ${JSON.stringify(target)}: would cover the sandbox's system view (/usr, /etc, /proc...)`);
    if (!statSync(r.real).isDirectory() && !statSync(r.real).isFile()) throw new AppError("invalid_skill", `paths.${i}: is neither a directory nor a regular file`);
    return { source: r.real, target, writable: p.writable === true };
  });
  return out.sort((a, b) => a.target.length - b.target.length);
}
