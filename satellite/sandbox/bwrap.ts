/**
 * The bubblewrap invocation for one program and its profile. Two ways in:
 *
 * - The worker is root: bwrap runs privileged, without a user namespace (so
 *   ps still shows real user names and bwrap works where unprivileged user
 *   namespaces are off), keeps only CAP_SETUID/CAP_SETGID, and setpriv drops
 *   to 65534 with no capabilities before the program starts. The kernel uid is
 *   really 65534: a user namespace mapping 65534 onto root would leave every
 *   root process's /proc files readable to the sandbox.
 * - The worker is not root: bwrap makes a user namespace and the program keeps
 *   the worker's uid.
 *
 * Either way the resource limits are set on the sandbox before it execs
 * anything, by the worker through a handshake with bwrap (limits.ts) or, where
 * that cannot work, by prlimit inside; bwrap sets no_new_privs, kills the
 * sandbox with its parent (`--die-with-parent`) and gives it a new session (no
 * terminal to inject into).
 */
import { closeSync, fstatSync, lstatSync, openSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { EtcCopies, type MountPoint } from "./etc.ts";
import { additionArgs } from "./mounts.ts";
import { ALWAYS_HIDDEN, DEVICES, ETC_ADAPT, ETC_BASE, ETC_NETWORK, limitsOf, MAX_FILE_BYTES, type SandboxProfile, SYSTEM_TOP, TMP_BYTES } from "./profile.ts";

export const NOBODY = 65534;
const MiB = 1024 * 1024;

/** What bwrap needs to know about this host, looked at once. */
export interface Host {
  bwrap: string;
  /** Run inside when the limits are not set from outside (no handshake). */
  prlimit?: string;
  /** Only when the worker is root. */
  setpriv?: string;
  root: boolean;
  /** `--symlink usr/bin /bin` or `--ro-bind /bin /bin` for each top-level system directory present. */
  system: string[];
  /** The private copies bound as /etc: "base", and "network" with the resolver and CA files. */
  etc: EtcCopies;
  /** Real paths a host-filesystem view masks: directories and files. */
  hidden: { dirs: string[]; files: string[] };
}

export function inspectHost(tools: { bwrap: string; prlimit?: string; setpriv?: string }, root: boolean, hide: string[]): Host {
  const system: string[] = [];
  for (const top of SYSTEM_TOP) {
    const path = `/${top}`;
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) system.push("--symlink", readlinkSync(path), path);
    else if (st.isDirectory()) system.push("--ro-bind", path, path);
  }
  const dirs: string[] = [];
  const files: string[] = [];
  for (const p of new Set([...ALWAYS_HIDDEN, ...hide])) {
    let real: string;
    try {
      real = realpathSync(p);
    } catch {
      continue;
    }
    if (real === "/") continue;
    (statSync(real).isDirectory() ? dirs : files).push(real);
  }
  return {
    ...tools,
    root,
    system,
    etc: new EtcCopies({ base: ETC_BASE, network: [...ETC_BASE, ...ETC_NETWORK] }, ETC_ADAPT),
    hidden: { dirs: [...new Set(dirs)].sort(), files: [...new Set(files)] },
  };
}

export interface Invocation {
  file: string;
  args: string[];
  /** Open file descriptors the child receives as 3, 4, ... (files handed over by content); close after spawning. */
  fds: number[];
  /** With a handshake: the descriptors bwrap expects right after those. */
  handshake?: Handshake;
}

/** Regular files named by the profile (`$VAR` expands to the colon-separated paths in that variable), opened for handing over. */
function openFiles(profile: SandboxProfile, env: Record<string, string>): { path: string; fd: number }[] {
  const paths = (profile.files ?? []).flatMap((f) => (f.startsWith("$") ? (env[f.slice(1)] ?? "").split(":").filter((p) => p.startsWith("/")) : [f]));
  const out: { path: string; fd: number }[] = [];
  for (const path of new Set(paths)) {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch {
      continue; // absent here (no service account outside a pod): nothing to hand over
    }
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_FILE_BYTES) {
      closeSync(fd);
      continue;
    }
    out.push({ path, fd });
  }
  return out;
}

/** The limits handshake's descriptors in the child (limits.ts), as bwrap sees them. */
export interface Handshake {
  /** bwrap writes the sandbox's pid here as JSON. */
  info: number;
  /** The sandbox waits for one byte here before it execs anything. */
  block: number;
  /** The write end of that pipe, held by the sandbox itself, so a worker dying before the release leaves it waiting rather than reading end-of-file and running without limits. */
  hold: number;
}

/** /usr, the /bin and /lib links, and the private /etc copy (with mount points for what the profile mounts under /etc); nothing for a host view. */
function systemView(host: Host, a: string[], profile: SandboxProfile, binds: string[], files: { path: string }[]) {
  if (profile.filesystems === "host") return;
  a.push("--ro-bind", "/usr", "/usr", ...host.system);
  // Nothing can be made inside the read-only /etc: paths under it that are mounted over need their mount points in the copy.
  const under = (p: string) => p.startsWith("/etc/");
  const mounts: MountPoint[] = [
    ...binds.filter(under).flatMap((p) => {
      const st = statSync(p, { throwIfNoEntry: false });
      return st ? [{ path: p, dir: st.isDirectory() }] : [];
    }),
    ...files.filter((f) => under(f.path)).map((f) => ({ path: f.path, dir: false })),
  ];
  const etc = host.etc.view(profile.network ? "network" : "base", mounts);
  a.push("--ro-bind", etc.dir, "/etc");
  for (const d of etc.dirs) a.push("--ro-bind", d, d);
}

/** The bwrap command line; with `handshake`, the sandbox waits for its limits from outside (limits.ts), else prlimit sets them inside. */
export function invocation(host: Host, command: string[], profile: SandboxProfile, env: Record<string, string>, withHandshake: boolean): Invocation {
  const a: string[] = [];
  if (host.root) {
    a.push("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try");
    if (!profile.network) a.push("--unshare-net");
    a.push("--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID");
  } else {
    a.push("--unshare-all");
    if (profile.network) a.push("--share-net");
  }
  a.push("--die-with-parent", "--new-session");

  const hostView = profile.filesystems === "host";
  const made = new Set<string>(["/"]);
  const dir = (path: string) => {
    // The /etc copy holds its own mount points (etc.ts).
    if (made.has(path) || (!hostView && (path === "/etc" || path.startsWith("/etc/")))) return;
    dir(dirname(path));
    // Parents bwrap makes on its own are 0700, closed to the unprivileged user.
    a.push("--perms", "0755", "--dir", path);
    made.add(path);
  };
  if (hostView) {
    a.push("--ro-bind", "/", "/");
    for (const d of host.hidden.dirs) a.push("--perms", "0000", "--size", "4096", "--tmpfs", d);
    for (const f of host.hidden.files) a.push("--ro-bind", "/dev/null", f);
  }
  const binds = profile.binds ?? [];
  const files = openFiles(profile, env);
  try {
    systemView(host, a, profile, binds, files);
  } catch (err) {
    for (const f of files) closeSync(f.fd);
    throw err;
  }
  for (const p of binds) {
    if (!hostView) dir(dirname(p));
    a.push("--ro-bind-try", p, p);
  }
  files.forEach(({ path }, i) => {
    if (!hostView) dir(dirname(path));
    a.push("--perms", "0444", "--ro-bind-data", String(3 + i), path);
  });
  const processes = profile.processes ?? "own";
  if (processes === "host") a.push("--ro-bind", "/proc", "/proc");
  else if (processes === "own") a.push("--proc", "/proc");
  // The host's /proc came with its root: cover it.
  else if (hostView) a.push("--perms", "0555", "--size", "4096", "--tmpfs", "/proc");
  // A few device nodes rather than --dev's fresh devtmpfs with pts, shm and a dozen mounts; over the host's /dev in a host view.
  if (hostView) a.push("--perms", "0755", "--size", "4096", "--tmpfs", "/dev");
  else dir("/dev");
  for (const d of DEVICES) a.push("--dev-bind", d, d);
  a.push("--perms", "1777", "--size", String(TMP_BYTES), "--tmpfs", "/tmp");
  a.push(...additionArgs(profile));
  if (!hostView) a.push("--remount-ro", "/");
  a.push("--chdir", "/");
  const next = 3 + files.length;
  const handshake = withHandshake ? { info: next, block: next + 1, hold: next + 2 } : undefined;
  if (handshake) a.push("--info-fd", String(handshake.info), "--block-fd", String(handshake.block), "--sync-fd", String(handshake.hold));
  a.push("--");

  if (host.root) a.push(host.setpriv!, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--inh-caps=-all", "--");
  if (!handshake) {
    const l = limitsOf(profile);
    a.push(
      host.prlimit!,
      `--cpu=${l.cpuSeconds}`,
      `--as=${l.memoryMiB * MiB}`,
      `--fsize=${l.fileSizeMiB * MiB}`,
      `--nproc=${l.processes}`,
      `--nofile=${l.openFiles}`,
      "--core=0",
      "--",
    );
  }
  a.push(...command);
  return { file: host.bwrap, args: a, fds: files.map((f) => f.fd), ...(handshake ? { handshake } : {}) };
}
