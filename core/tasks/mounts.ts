/**
 * Which host paths a task may see. A mount must name an existing path under
 * TASK_ALLOWED_PATHS (refused when that is unset), checked on its real path
 * (so `..` and symlinks cannot lead out), and may neither be nor hold the data
 * dir or the files the core keeps secret. Read-only unless asked.
 */
import { realpathSync, statSync } from "node:fs";
import { AppError } from "../errors.ts";
import { isReservedTarget } from "../jobs/edge.ts";
import { MAX_TASK_MOUNTS, type TaskMountSpec } from "../protocol/index.ts";

export interface MountRequest {
  path: string;
  writable?: boolean;
}

const refused = (message: string) => new AppError("invalid_task", message);

const within = (path: string, dir: string) => path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);

function real(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

export interface MountPolicy {
  /** TASK_ALLOWED_PATHS. */
  allowed: readonly string[];
  /** The data dir, the config file, credential files: never mounted, nor anything holding them. */
  forbidden: readonly string[];
}

/** Checks and resolves a task's mounts; each refusal names the mount and why. */
export function resolveMounts(requested: readonly MountRequest[], policy: MountPolicy): TaskMountSpec[] {
  if (!requested.length) return [];
  if (requested.length > MAX_TASK_MOUNTS) throw refused(`mounts: at most ${MAX_TASK_MOUNTS}`);
  if (!policy.allowed.length) throw refused("mounts: TASK_ALLOWED_PATHS is not set, so tasks may not mount anything; set it to the host paths tasks may use");
  const allowed = policy.allowed.flatMap((a) => real(a) ?? []);
  const forbidden = policy.forbidden.flatMap((f) => real(f) ?? []);
  const out: TaskMountSpec[] = [];
  requested.forEach((m, i) => {
    const { where, target } = shape(m, i);
    const source = real(target);
    if (!source) throw refused(`${where}: does not exist on this host`);
    if (!allowed.some((a) => within(source, a)))
      throw refused(`${where}: ${source === target ? "is" : `resolves to ${source}, which is`} not under TASK_ALLOWED_PATHS (${policy.allowed.join(", ")})`);
    if (forbidden.some((f) => within(source, f) || within(f, source))) throw refused(`${where}: is or holds bakerst's data dir or credentials, which no task may see`);
    if (isReservedTarget(target)) throw refused(`${where}: would cover the sandbox's system view (/usr, /etc, /proc, /dev...)`);
    if (!statSync(source).isDirectory() && !statSync(source).isFile()) throw refused(`${where}: is neither a directory nor a regular file`);
    if (out.some((o) => o.target === target)) throw refused(`${where}: mounted twice`);
    out.push({ source, target, writable: m.writable === true });
  });
  // A mount inside another comes after it, so both are seen.
  return out.sort((a, b) => a.target.length - b.target.length);
}

/** A requested path's shape, the same here and on a companion: absolute, no `..` or `.` segments or control characters (refused before anything resolves them), slashes normalised. */
function shape(m: MountRequest, i: number): { where: string; target: string } {
  const where = `mounts[${i}] ${JSON.stringify(m.path.slice(0, 200))}`;
  if (!m.path.startsWith("/")) throw refused(`${where}: must be an absolute path`);
  if ([...m.path].some((c) => c.charCodeAt(0) < 0x20) || m.path.split("/").some((seg) => seg === ".." || seg === "."))
    throw refused(`${where}: no "." or ".." segments or control characters`);
  return { where, target: m.path.replace(/\/+/g, "/").replace(/(.)\/$/, "$1") };
}

/**
 * Mounts on another host (a companion): only their shape is checked here;
 * the companion resolves them against its own allowed paths and refuses the
 * task when one is outside them.
 */
export function remoteMounts(requested: readonly MountRequest[]): TaskMountSpec[] {
  if (requested.length > MAX_TASK_MOUNTS) throw refused(`mounts: at most ${MAX_TASK_MOUNTS}`);
  const out: TaskMountSpec[] = [];
  requested.forEach((m, i) => {
    const { where, target } = shape(m, i);
    if (isReservedTarget(target)) throw refused(`${where}: would cover the sandbox's system view (/usr, /etc, /proc, /dev...)`);
    if (out.some((o) => o.target === target)) throw refused(`${where}: mounted twice`);
    out.push({ source: target, target, writable: m.writable === true });
  });
  return out.sort((a, b) => a.target.length - b.target.length);
}
