/**
 * What a sandboxed program sees, by profile. The default is the least a
 * program needs to run: /usr read-only (with the /bin, /lib symlinks of a
 * merged-/usr system), a private copy of the /etc files that name users,
 * groups, the time zone and the library cache, /dev/null, /dev/zero and
 * /dev/urandom, its own /proc (its own processes only), a private
 * size-capped /tmp, no network (a private loopback), no home, no data dir. A
 * profile asks for more, or less, only where the question needs it:
 *
 * - `processes: "none"` (date, id, uname, ls...): no /proc at all, for
 *   programs that never read it (mounting one costs bwrap about 0.7 ms).
 * - `network: true` (kubectl): the host's network, plus resolver and CA files.
 * - `processes: "host"` (ps): the host's /proc, read-only. The program runs as
 *   nobody when the worker is root, so other users' /proc/<pid>/environ,
 *   fds and memory stay closed to it; a worker that is not root runs it as
 *   itself, and then ps's grammar (no `e`, no `environ`) is what keeps
 *   environments out of the output.
 * - `filesystems: "host"` (df): the host's root and every mount under it,
 *   read-only, because df lists the mounts of its own namespace and statfs()s
 *   each. Home directories, /root, /run (secrets, sockets) and the paths the
 *   worker names as hidden (the data dir, credential files) are covered by
 *   empty mounts, and so are the host's /dev and /tmp; the rest is what the
 *   unprivileged user could read anyway, and df's grammar has no option that
 *   reads a file.
 * - `binds`: further host paths, read-only; `files`: host files handed over by
 *   content (the kubeconfig, a service-account token), read-only, so the
 *   program can read them even where the unprivileged user could not.
 */
import type { SandboxProfileSpec } from "../../core/protocol/index.ts";
import type { ProfileAdditions } from "./mounts.ts";

/** A command's profile (from its grammar), plus what tasks add (mounts.ts). */
export type SandboxProfile = SandboxProfileSpec & ProfileAdditions;

export interface Limits {
  cpuSeconds: number;
  memoryMiB: number;
  fileSizeMiB: number;
  processes: number;
  openFiles: number;
}

/** Enough for the default programs; a profile raises what its program needs (kubectl: memory, threads). */
export const DEFAULT_LIMITS: Limits = { cpuSeconds: 60, memoryMiB: 512, fileSizeMiB: 16, processes: 128, openFiles: 256 };

/** Size of the private /tmp. */
export const TMP_BYTES = 64 * 1024 * 1024;

/**
 * /etc entries every program may read: users and groups by name, the time
 * zone, the dynamic linker's cache, the host's own names. Only what programs
 * read at run time (not ld.so.conf, which only ldconfig reads). They are
 * copied into one private directory bound as /etc (etc.ts): one mount instead
 * of one per file.
 */
export const ETC_BASE = ["passwd", "group", "nsswitch.conf", "localtime", "ld.so.cache", "hosts"];
/**
 * How the copies differ from the host's files. User and group lookups go to
 * /etc/passwd and /etc/group only: the other modules a host may list (systemd's
 * userdb, sssd, LDAP, winbind) answer over sockets under /run or /var that no
 * sandbox sees, so inside they can only fail, after being loaded (systemd's
 * costs every lookup, setpriv's included, about 0.25 ms).
 */
export const ETC_ADAPT: Record<string, (text: string) => string> = {
  "nsswitch.conf": (text) => text.replace(/^(passwd|group|shadow|gshadow|initgroups):([ \t]*).*$/gm, "$1:$2files"),
};

/** Added with the network: name resolution and the CA bundle for TLS. Directories among them are bound, not copied. */
export const ETC_NETWORK = ["resolv.conf", "host.conf", "gai.conf", "services", "protocols", "ssl", "ca-certificates", "ca-certificates.conf", "pki"];

/**
 * The device nodes a sandbox gets, bound from the host: what programs and
 * their libraries open (output thrown away, zeroes, random bytes where
 * getrandom(2) is not used). No tty, no pts, no /dev/shm, no /dev/random
 * (glibc and Go use getrandom). Each is a mount, about 0.1 ms.
 */
export const DEVICES = ["/dev/null", "/dev/zero", "/dev/urandom"];

/** The top-level directories of the system view besides /usr: symlinks into /usr on a merged-/usr system, bound when real. */
export const SYSTEM_TOP = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/** Always masked in a host-filesystem view, whatever the worker adds. */
export const ALWAYS_HIDDEN = ["/root", "/home", "/run", "/var/run", "/var/lib/bakerst"];

/** Largest file handed over by content. */
export const MAX_FILE_BYTES = 1024 * 1024;

export function limitsOf(profile: SandboxProfile): Limits {
  return { ...DEFAULT_LIMITS, ...profile.limits };
}
