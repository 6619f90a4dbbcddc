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
 * Either way prlimit sets the resource limits inside, bwrap sets
 * no_new_privs, kills the sandbox with its parent (`--die-with-parent`) and
 * gives it a new session (no terminal to inject into).
 */
import { closeSync, existsSync, fstatSync, lstatSync, openSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { additionArgs } from "./mounts.ts";
import { ALWAYS_HIDDEN, ETC_BASE, ETC_NETWORK, limitsOf, MAX_FILE_BYTES, SYSTEM_TOP, TMP_BYTES, type SandboxProfile } from "./profile.ts";

export const NOBODY = 65534;
const MiB = 1024 * 1024;

/** What bwrap needs to know about this host, looked at once. */
export interface Host {
  bwrap: string;
  prlimit: string;
  /** Only when the worker is root. */
  setpriv?: string;
  root: boolean;
  /** `--symlink usr/bin /bin` or `--ro-bind /bin /bin` for each top-level system directory present. */
  system: string[];
  /** Existing absolute /etc entries of the system view, and those added with the network. */
  etc: string[];
  etcNetwork: string[];
  /** Real paths a host-filesystem view masks: directories and files. */
  hidden: { dirs: string[]; files: string[] };
}

export function inspectHost(tools: { bwrap: string; prlimit: string; setpriv?: string }, root: boolean, hide: string[]): Host {
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
  const present = (names: string[]) => names.map((n) => `/etc/${n}`).filter((p) => existsSync(p));
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
    etc: present(ETC_BASE),
    etcNetwork: present(ETC_NETWORK),
    hidden: { dirs: [...new Set(dirs)].sort(), files: [...new Set(files)] },
  };
}

export interface Invocation {
  file: string;
  args: string[];
  /** Open file descriptors the child receives as 3, 4, ... (files handed over by content); close after spawning. */
  fds: number[];
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

export function invocation(host: Host, command: string[], profile: SandboxProfile, env: Record<string, string>): Invocation {
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

  const made = new Set<string>(["/"]);
  const dir = (path: string) => {
    if (made.has(path)) return;
    dir(dirname(path));
    // Parents bwrap makes on its own are 0700, closed to the unprivileged user.
    a.push("--perms", "0755", "--dir", path);
    made.add(path);
  };
  const hostView = profile.filesystems === "host";
  if (hostView) {
    a.push("--ro-bind", "/", "/");
    for (const d of host.hidden.dirs) a.push("--perms", "0000", "--size", "4096", "--tmpfs", d);
    for (const f of host.hidden.files) a.push("--ro-bind", "/dev/null", f);
  } else {
    a.push("--ro-bind", "/usr", "/usr", ...host.system);
    dir("/etc");
    for (const p of [...host.etc, ...(profile.network ? host.etcNetwork : [])]) a.push("--ro-bind", p, p);
  }
  for (const p of profile.binds ?? []) {
    if (!hostView) dir(dirname(p));
    a.push("--ro-bind-try", p, p);
  }
  const files = openFiles(profile, env);
  files.forEach(({ path }, i) => {
    if (!hostView) dir(dirname(path));
    a.push("--perms", "0444", "--ro-bind-data", String(3 + i), path);
  });
  if (profile.processes === "host") a.push("--ro-bind", "/proc", "/proc");
  else a.push("--proc", "/proc");
  a.push("--dev", "/dev", "--perms", "1777", "--size", String(TMP_BYTES), "--tmpfs", "/tmp");
  a.push(...additionArgs(profile));
  if (!hostView) a.push("--remount-ro", "/");
  a.push("--chdir", "/", "--");

  const l = limitsOf(profile);
  if (host.root) a.push(host.setpriv!, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--inh-caps=-all", "--");
  a.push(
    host.prlimit,
    `--cpu=${l.cpuSeconds}`,
    `--as=${l.memoryMiB * MiB}`,
    `--fsize=${l.fileSizeMiB * MiB}`,
    `--nproc=${l.processes}`,
    `--nofile=${l.openFiles}`,
    "--core=0",
    "--",
    ...command,
  );
  return { file: host.bwrap, args: a, fds: files.map((f) => f.fd) };
}
