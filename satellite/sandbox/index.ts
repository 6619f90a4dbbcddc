/**
 * The sandbox that command jobs (and, next, tasks and stdio MCP servers) run
 * in: bubblewrap with its own PID, IPC, UTS and network namespaces, a
 * read-only system view by profile (profile.ts), resource limits, an
 * unprivileged user and a clean environment. `setUpSandbox` tries it once for
 * real; where it cannot work (no bwrap, user namespaces off) it says why and
 * how to fix it, and the caller refuses to run unsandboxed unless the owner
 * opted out (COMMAND_SANDBOX=off).
 */
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { inspectHost, invocation, NOBODY, type Host, type Invocation } from "./bwrap.ts";
import type { SandboxProfile } from "./profile.ts";

export type { SandboxProfile } from "./profile.ts";
export type { Invocation } from "./bwrap.ts";
export { isReservedTarget, type ProfileAdditions, type SandboxMount } from "./mounts.ts";

export const SANDBOX_MODES = ["required", "off"] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

/** Where the sandbox's helpers are looked for: the same fixed PATH commands resolve in. */
export const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function findProgram(name: string): string | undefined {
  for (const dir of SYSTEM_PATH.split(":")) {
    const path = `${dir}/${name}`;
    if (existsSync(path) && statSync(path).isFile()) return path;
  }
  return undefined;
}

export class Sandbox {
  constructor(private host: Host) {}

  /** The uid the sandboxed program runs as. */
  get uid(): number {
    return this.host.root ? NOBODY : (process.getuid?.() ?? NOBODY);
  }

  /** How to run `command` (an absolute program path and its arguments) inside the sandbox with `profile` and exactly `env`. */
  wrap(command: string[], profile: SandboxProfile, env: Record<string, string>): Invocation {
    return invocation(this.host, command, profile, env);
  }
}

export interface SandboxStatus {
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface SandboxSetup {
  mode: SandboxMode;
  status: SandboxStatus;
  /** Present when the trial run worked. */
  sandbox?: Sandbox;
}

export interface SandboxOptions {
  mode: SandboxMode;
  /** Host paths no sandbox may see, even one with the host's filesystems: the data dir, credential files. */
  hide?: string[];
  /** The bubblewrap binary; found on the system PATH when unset. */
  bwrap?: string;
}

const OPT_OUT = "or set COMMAND_SANDBOX=off to run commands without a sandbox";

function why(stderr: string): string {
  if (/namespace|uid map|setting up uid|Operation not permitted|Permission denied|No permissions/i.test(stderr)) {
    return `user namespaces are not available to this user: enable them (sysctl user.max_user_namespaces=15000, kernel.unprivileged_userns_clone=1 on older Debian kernels, an AppArmor profile for bwrap on Ubuntu), run the worker as root, ${OPT_OUT}`;
  }
  return `check that bwrap runs here (bwrap --ro-bind /usr /usr --unshare-all true), ${OPT_OUT}`;
}

/** Finds bwrap and its helpers and runs a trivial sandbox once (about 5 ms), to know whether commands can run sandboxed here. */
export function setUpSandbox(opts: SandboxOptions): SandboxSetup {
  const { mode } = opts;
  const bwrap = opts.bwrap ?? findProgram("bwrap");
  const prlimit = findProgram("prlimit");
  const root = process.getuid?.() === 0;
  const setpriv = root ? findProgram("setpriv") : undefined;
  const fail = (detail: string, fix: string): SandboxSetup => ({ mode, status: { ok: false, detail, fix } });
  if (!bwrap || !existsSync(bwrap)) return fail(`bubblewrap (bwrap) is not installed${opts.bwrap ? ` at ${opts.bwrap}` : ""}`, `apt-get install bubblewrap, ${OPT_OUT}`);
  if (!prlimit || (root && !setpriv)) return fail("prlimit or setpriv (util-linux) is missing", `apt-get install util-linux, ${OPT_OUT}`);
  const hide = [...(opts.hide ?? []), homedir()];
  const sandbox = new Sandbox(inspectHost({ bwrap, prlimit, ...(setpriv ? { setpriv } : {}) }, root, hide));
  const id = findProgram("id") ?? "/usr/bin/id";
  const trial = sandbox.wrap([id, "-u"], {}, { PATH: SYSTEM_PATH });
  const r = spawnSync(trial.file, trial.args, { encoding: "utf8", timeout: 10_000, env: { PATH: SYSTEM_PATH } });
  const uid = r.stdout?.trim();
  if (r.error || r.status !== 0 || uid !== String(sandbox.uid)) {
    const stderr = (r.stderr || r.error?.message || `exit ${r.status}, uid ${JSON.stringify(uid)}`).trim().split("\n")[0]!;
    return fail(`a trial sandbox failed: ${stderr}`, why(stderr));
  }
  const version = spawnSync(bwrap, ["--version"], { encoding: "utf8" }).stdout.trim() || "bwrap";
  const detail = `${version}: commands run as uid ${uid} with their own PID, IPC, UTS and network namespaces and a read-only system view`;
  return { mode, status: { ok: true, detail }, sandbox };
}
