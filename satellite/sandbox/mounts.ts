/**
 * What a task (and, next, a stdio MCP server) adds to a profile beyond what
 * command jobs use: host paths at a place of its choosing, read-only unless
 * asked, and host unix sockets (the egress proxy, the model relay) bound in as
 * its only ways out. Kept apart from the profile proper: the caller has
 * already resolved and allowed every source (core/tasks/mounts.ts).
 */
import { dirname } from "node:path";

export interface SandboxMount {
  /** The host path (resolved, allowed). */
  source: string;
  /** Where the sandbox sees it. */
  target: string;
  writable: boolean;
}

export interface ProfileAdditions {
  mounts?: SandboxMount[];
  /** Host unix sockets at a path inside; the sandbox's user must be allowed to connect (mode 0666 on a socket in a private directory). */
  sockets?: { source: string; target: string }[];
}

/** Paths a mount may not land on or under: the system view, the kernel's files, where sockets and the task runner go. */
export const RESERVED_TARGETS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/proc", "/dev", "/sys", "/run/bakerst", "/opt/bakerst"];

export function isReservedTarget(path: string): boolean {
  return path === "/" || RESERVED_TARGETS.some((r) => path === r || path.startsWith(`${r}/`));
}

/**
 * bwrap arguments for the additions, placed after the private /tmp (so a
 * mount under /tmp stays visible) and before the root turns read-only.
 * Parents bwrap would make on its own are 0700, closed to the sandbox's user,
 * so each is made 0755 first.
 */
export function additionArgs(add: ProfileAdditions): string[] {
  const a: string[] = [];
  const made = new Set<string>(["/", "/tmp"]);
  const dir = (path: string) => {
    if (made.has(path)) return;
    dir(dirname(path));
    a.push("--perms", "0755", "--dir", path);
    made.add(path);
  };
  for (const m of add.mounts ?? []) {
    if (isReservedTarget(m.target) && !m.target.startsWith("/opt/bakerst/")) throw new Error(`sandbox mount target ${m.target} is reserved`);
    dir(dirname(m.target));
    a.push(m.writable ? "--bind" : "--ro-bind", m.source, m.target);
    made.add(m.target);
  }
  for (const s of add.sockets ?? []) {
    dir(dirname(s.target));
    a.push("--bind", s.source, s.target);
  }
  return a;
}
