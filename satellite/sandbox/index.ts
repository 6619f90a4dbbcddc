/**
 * The sandbox that command jobs (and, next, tasks and stdio MCP servers) run
 * in: bubblewrap with its own PID, IPC, UTS and network namespaces, a
 * read-only system view by profile (profile.ts), resource limits, an
 * unprivileged user and a clean environment. `setUpSandbox` tries it once for
 * real; where it cannot work (no bwrap, user namespaces off) it says why and
 * how to fix it, and the caller refuses to run unsandboxed unless the owner
 * opted out (COMMAND_SANDBOX=off).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, statSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import type { Readable } from "node:stream";
import { type Host, inspectHost, invocation, NOBODY } from "./bwrap.ts";
import { type LimitSetter, loadLimitSetter } from "./limits.ts";
import { type Limits, limitsOf, type SandboxProfile } from "./profile.ts";

export type { Invocation } from "./bwrap.ts";
export { isReservedTarget, type ProfileAdditions, type SandboxMount } from "./mounts.ts";
export type { SandboxProfile } from "./profile.ts";

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
  constructor(
    private host: Host,
    /** Sets the limits from outside (limits.ts); without it, prlimit runs inside. */
    private limits?: LimitSetter,
  ) {}

  /** The uid the sandboxed program runs as. */
  get uid(): number {
    return this.host.root ? NOBODY : (process.getuid?.() ?? NOBODY);
  }

  /** Whether the limits are set by this process on the held sandbox, or by prlimit inside it. */
  get limitsFrom(): "worker" | "prlimit" {
    return this.limits ? "worker" : "prlimit";
  }

  /**
   * Starts `command` (an absolute program path and its arguments) inside the
   * sandbox with `profile` and exactly `env`, as the leader of its own process
   * group (kill the group to stop it; bwrap takes the sandbox down with it),
   * with stdin on /dev/null (or piped, when asked) and stdout and stderr piped. The program starts
   * only once its limits are set; if they cannot be, the sandbox is killed
   * before it runs anything and the child emits an "error".
   */
  spawn(command: string[], profile: SandboxProfile, env: Record<string, string>, opts: { stdin?: "pipe" | "ignore" } = {}): ChildProcess {
    const inv = invocation(this.host, command, profile, env, !!this.limits);
    let pipe: [number, number] | undefined;
    let child: ChildProcess;
    try {
      pipe = this.limits?.pipe();
      // bwrap's info (a pipe this process reads), the pipe's read end it blocks on, the write end it holds.
      const handshake = pipe ? ["pipe" as const, pipe[0], pipe[1]] : [];
      child = spawn(inv.file, inv.args, { shell: false, detached: true, stdio: [opts.stdin ?? "ignore", "pipe", "pipe", ...inv.fds, ...handshake], cwd: "/", env });
    } catch (err) {
      if (pipe) closeSync(pipe[1]);
      throw err;
    } finally {
      // The child holds its own copies of the handed-over files and of the pipe's read end now.
      for (const fd of inv.fds) closeSync(fd);
      if (pipe) closeSync(pipe[0]);
    }
    if (pipe) release(child, inv.handshake!.info, pipe[1], this.limits!, limitsOf(profile));
    return child;
  }

  /** `id -u` in a default sandbox, synchronously: released in advance (the trial shows bwrap works here; a job never starts that way). */
  trial() {
    const env = { PATH: SYSTEM_PATH };
    const inv = invocation(this.host, [findProgram("id") ?? "/usr/bin/id", "-u"], { processes: "none" }, env, !!this.limits);
    const extra: number[] = [];
    try {
      if (this.limits) {
        const [read, write] = this.limits.pipe();
        extra.push(openSync("/dev/null", "w"), read, write);
        writeSync(write, "x");
      }
      return spawnSync(inv.file, inv.args, { encoding: "utf8", timeout: 10_000, env, stdio: ["ignore", "pipe", "pipe", ...inv.fds, ...extra] });
    } finally {
      for (const fd of [...inv.fds, ...extra]) closeSync(fd);
    }
  }
}

/**
 * The worker's side of the handshake: read the sandbox's pid from bwrap's
 * info, set the limits on it, then write the byte that lets it go on. If the
 * limits cannot be set, or bwrap ends first, the sandbox is killed (it is
 * still in bwrap's process group while it waits) and never released.
 */
function release(child: ChildProcess, infoFd: number, block: number, limits: LimitSetter, values: Limits) {
  let open = true;
  const done = () => {
    if (open) closeSync(block);
    open = false;
  };
  const stop = (err?: Error) => {
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
    done();
    if (err) child.emit("error", err);
  };
  child.once("close", done);
  // A spawn that failed: no process, nothing to release.
  child.once("error", done);
  const info = child.stdio[infoFd] as Readable;
  let text = "";
  info.on("error", () => stop());
  info.setEncoding("utf8");
  info.on("data", (chunk: string) => {
    text += chunk;
  });
  info.once("end", () => {
    if (!open) return;
    let pid: unknown;
    try {
      pid = (JSON.parse(text) as { "child-pid"?: unknown })["child-pid"];
    } catch {
      // bwrap failed before it could report; its exit says why
    }
    if (!Number.isInteger(pid) || (pid as number) <= 0) return stop();
    try {
      limits.set(pid as number, values);
    } catch (err) {
      return stop(new Error(`the sandbox's resource limits could not be set (${(err as Error).message}); it was stopped before the program started`));
    }
    writeSync(block, "x");
    done();
  });
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
  /** Who sets the resource limits: this process through a handshake with bwrap (the default where bun:ffi and glibc allow), or prlimit inside. */
  limitsFrom?: "worker" | "prlimit";
}

const OPT_OUT = "or set COMMAND_SANDBOX=off to run commands without a sandbox";

function why(stderr: string): string {
  if (/namespace|uid map|setting up uid|Operation not permitted|Permission denied|No permissions/i.test(stderr)) {
    return `user namespaces are not available to this user: enable them (sysctl user.max_user_namespaces=15000, kernel.unprivileged_userns_clone=1 on older Debian kernels, an AppArmor profile for bwrap on Ubuntu), run the worker as root, ${OPT_OUT}`;
  }
  return `check that bwrap runs here (bwrap --ro-bind /usr /usr --unshare-all true), ${OPT_OUT}`;
}

/** Trials that worked, by the helpers they used (a failed one is tried again: the owner may have fixed the host). */
const TRIALS = new Map<string, { uid: string; version: string }>();

/** Finds bwrap and its helpers and runs a trivial sandbox once (a few ms), to know whether commands can run sandboxed here. */
export function setUpSandbox(opts: SandboxOptions): SandboxSetup {
  const { mode } = opts;
  const bwrap = opts.bwrap ?? findProgram("bwrap");
  const limits = opts.limitsFrom === "prlimit" ? undefined : loadLimitSetter();
  const prlimit = limits ? undefined : findProgram("prlimit");
  const root = process.getuid?.() === 0;
  const setpriv = root ? findProgram("setpriv") : undefined;
  const fail = (detail: string, fix: string): SandboxSetup => ({ mode, status: { ok: false, detail, fix } });
  if (!bwrap || !existsSync(bwrap)) return fail(`bubblewrap (bwrap) is not installed${opts.bwrap ? ` at ${opts.bwrap}` : ""}`, `apt-get install bubblewrap, ${OPT_OUT}`);
  if ((!limits && !prlimit) || (root && !setpriv)) return fail("prlimit or setpriv (util-linux) is missing", `apt-get install util-linux, ${OPT_OUT}`);
  const hide = [...(opts.hide ?? []), homedir()];
  const sandbox = new Sandbox(inspectHost({ bwrap, ...(prlimit ? { prlimit } : {}), ...(setpriv ? { setpriv } : {}) }, root, hide), limits);
  // One trial per process and host setup: jobs, tasks and skills each set up a sandbox at start, and each trial blocks start-up for a few ms.
  const key = `${bwrap}|${setpriv ?? ""}|${prlimit ?? "limits"}|${root}`;
  let trial = TRIALS.get(key);
  if (!trial) {
    const r = sandbox.trial();
    const uid = r.stdout?.trim();
    if (r.error || r.status !== 0 || uid !== String(sandbox.uid)) {
      const stderr = (r.stderr || r.error?.message || `exit ${r.status}, uid ${JSON.stringify(uid)}`).trim().split("\n")[0]!;
      return fail(`a trial sandbox failed: ${stderr}`, why(stderr));
    }
    trial = { uid: uid!, version: spawnSync(bwrap, ["--version"], { encoding: "utf8" }).stdout.trim() || "bwrap" };
    TRIALS.set(key, trial);
  }
  const { uid, version } = trial;
  const set = limits ? "set by the worker before the program starts" : "set by prlimit inside";
  const detail = `${version}: commands run as uid ${uid} with their own PID, IPC, UTS and network namespaces, a read-only system view and resource limits ${set}`;
  return { mode, status: { ok: true, detail }, sandbox };
}
