/**
 * What a task needs the owner's word for: every writable mount and every host
 * it may reach. Read-only mounts under TASK_ALLOWED_PATHS run at once. The
 * owner can say yes ahead of time for a scope (TASK_PREAPPROVED); anything
 * else waits for the console, a button in chat or `bakerst task approve`.
 * Nothing the agent can call approves a task.
 */
import { realpathSync } from "node:fs";
import { ConfigError } from "../config/index.ts";
import type { TaskMountSpec, TaskNetworkSpec } from "../protocol/index.ts";

export type Scope = { kind: "write"; path: string } | { kind: "net"; host: string };

export const scopeText = (s: Scope) => (s.kind === "write" ? `write:${s.path}` : `net:${s.host}`);

export function scopesOf(mounts: readonly TaskMountSpec[], network: TaskNetworkSpec): Scope[] {
  return [
    ...mounts.filter((m) => m.writable).map((m) => ({ kind: "write" as const, path: m.source })),
    ...(network === "none" ? [] : network.allow.map((host) => ({ kind: "net" as const, host }))),
  ];
}

/** TASK_PREAPPROVED, read once: `write:` paths resolved to their real path (when they exist), `net:` entries as written. */
export function parsePreapproved(entries: readonly string[]): Scope[] {
  return entries.map((e) => {
    const m = /^(write|net):(.+)$/.exec(e.trim());
    if (!m) throw new ConfigError("TASK_PREAPPROVED", `write:/path or net:host entries, got ${JSON.stringify(e)}`, "config");
    if (m[1] === "net") return { kind: "net", host: m[2]!.toLowerCase() };
    const raw = m[2]!;
    if (!raw.startsWith("/") || raw.split("/").includes(".."))
      throw new ConfigError("TASK_PREAPPROVED", `an absolute path without .. after write:, got ${JSON.stringify(raw)}`, "config");
    // A path that does not exist yet is compared as written: a mount's real path must still fall under it.
    let path = raw.replace(/\/+/g, "/").replace(/(.)\/$/, "$1");
    try {
      path = realpathSync(path);
    } catch {
      // kept as written
    }
    return { kind: "write", path };
  });
}

const under = (path: string, dir: string) => path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);

/** A host is covered by the same entry, or by `*.domain` for its subdomains (ports must agree when the grant names one). */
function hostCovered(host: string, grant: string): boolean {
  const [h, hp] = splitPort(host);
  const [g, gp] = splitPort(grant);
  if (gp !== undefined && gp !== hp) return false;
  return g.startsWith("*.") ? h.endsWith(g.slice(1)) || (h.startsWith("*.") && h.endsWith(g.slice(1))) : h === g;
}

function splitPort(entry: string): [string, string | undefined] {
  const m = /^(.*):(\d+)$/.exec(entry);
  return m && !m[1]!.endsWith(":") ? [m[1]!, m[2]] : [entry, undefined];
}

export function covered(scope: Scope, grants: readonly Scope[]): boolean {
  return grants.some((g) =>
    scope.kind === "write" && g.kind === "write" ? under(scope.path, g.path) : scope.kind === "net" && g.kind === "net" ? hostCovered(scope.host.toLowerCase(), g.host) : false,
  );
}
