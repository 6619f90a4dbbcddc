/**
 * The sandbox's /etc: copies of the few /etc files programs read, in one
 * private directory that bwrap binds read-only as /etc. One mount instead of
 * one per file (each bind costs bwrap about 0.15 ms: it re-reads the mount
 * table every time). The copies live in a directory of this process's own,
 * 0700, under the temp dir (never the data dir), are owned by the worker, keep
 * the source's permission bits without group and other write, and are
 * refreshed before a sandbox starts whenever a source changed (a few stat
 * calls), so an edited /etc/passwd or a new resolv.conf shows in the next job.
 * A copy may be adapted to the sandbox (nsswitch.conf: profile.ts).
 *
 * Directories (the CA certificates) are not copied: the copy holds an empty
 * mount point and the host's directory is bound over it. A profile that binds
 * or hands over something under /etc (a kubeconfig in /etc/rancher/k3s) gets a
 * copy of its own with mount points for those paths, since nothing can be
 * created inside a read-only bind.
 */
import { chmodSync, closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";

export interface EtcView {
  /** The directory to bind as /etc. */
  dir: string;
  /** Host /etc directories (absolute) to bind at their place over it. */
  dirs: string[];
}

/** A path under /etc that will be mounted over, and whether it is a directory. */
export interface MountPoint {
  path: string;
  dir: boolean;
}

interface Copy {
  sources: string[];
  mounts: MountPoint[];
  dir: string;
  /** What each source looked like when copied. */
  seen: Map<string, string>;
  /** The copy directory's mtime after the last change we made: anything else changed it. */
  mtime?: number;
  dirs: string[];
}

const roots = new Set<string>();
function removeAtExit(root: string) {
  if (roots.size === 0) {
    process.once("exit", () => {
      for (const r of roots) rmSync(r, { recursive: true, force: true });
    });
  }
  roots.add(root);
}

/** How a source looks now: absent, a directory, or a file by identity and change time. */
function look(path: string): string {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return "absent";
  if (st.isDirectory()) return "dir";
  if (!st.isFile()) return "other";
  return `file ${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.mode}`;
}

export class EtcCopies {
  private copies = new Map<string, Copy>();
  private root?: string;

  /** `sets`: view name → /etc entry names (no slashes); `adapt`: entry name → how its text changes in the copy; `etc`: where the sources are. */
  constructor(
    private sets: Record<string, string[]>,
    private adapt: Record<string, (text: string) => string> = {},
    private etc = "/etc",
  ) {}

  /** The view `set` with mount points for `mounts` (absolute paths under /etc), brought up to date with its sources first. */
  view(set: string, mounts: MountPoint[] = []): EtcView {
    const key = JSON.stringify([set, mounts]);
    let c = this.copies.get(key);
    if (!c) {
      const names = this.sets[set];
      if (!names) throw new Error(`no /etc view named ${set}`);
      if (!this.root) {
        this.root = mkdtempSync(join(tmpdir(), "bakerst-sandbox-"));
        removeAtExit(this.root);
      }
      c = { sources: names.map((n) => `${this.etc}/${n}`), mounts, dir: join(this.root, `etc-${this.copies.size}`), seen: new Map(), dirs: [] };
      this.copies.set(key, c);
    }
    const now = statSync(c.dir, { throwIfNoEntry: false });
    // A temp cleaner may have emptied or removed the copy: start again.
    if (!now || now.mtimeMs !== c.mtime) {
      rmSync(c.dir, { recursive: true, force: true });
      mkdirSync(c.dir, { recursive: true });
      // Explicitly: the worker's umask may be 077, and the sandbox's user must be able to read /etc.
      chmodSync(c.dir, 0o755);
      c.seen.clear();
    }
    let changed = c.seen.size === 0;
    for (const src of c.sources) {
      const seen = look(src);
      if (c.seen.get(src) === seen) continue;
      this.refresh(c, src, seen);
      c.seen.set(src, seen);
      changed = true;
    }
    // Cheap to check each time, and deeper than the mtime above sees.
    for (const m of c.mounts) if (this.mountPoint(c, m)) changed = true;
    if (changed) {
      c.dirs = c.sources.filter((src) => c.seen.get(src) === "dir");
      c.mtime = statSync(c.dir).mtimeMs;
    }
    return { dir: c.dir, dirs: c.dirs };
  }

  /** Replaces one entry of the copy; a file by rename, so a sandbox starting meanwhile sees the old or the new, never none. */
  private refresh(c: Copy, src: string, now: string) {
    const dst = join(c.dir, src.slice(src.lastIndexOf("/") + 1));
    const was = statSync(dst, { throwIfNoEntry: false });
    if (now.startsWith("file ")) {
      const tmp = `${dst}.new`;
      const adapt = this.adapt[src.slice(src.lastIndexOf("/") + 1)];
      if (adapt) writeFileSync(tmp, adapt(readFileSync(src, "utf8")));
      else copyFileSync(src, tmp);
      chmodSync(tmp, statSync(src).mode & 0o755);
      if (was?.isDirectory()) rmSync(dst, { recursive: true });
      renameSync(tmp, dst);
    } else if (now === "dir") {
      if (was && !was.isDirectory()) rmSync(dst);
      if (!was?.isDirectory()) mkdirSync(dst);
      chmodSync(dst, 0o755);
    } else if (was) {
      rmSync(dst, { recursive: true });
    }
  }

  /** An empty directory or file to mount over, with 0755 parents; true when it had to be made. */
  private mountPoint(c: Copy, m: MountPoint): boolean {
    const rel = relative(this.etc, m.path);
    const dst = join(c.dir, rel);
    if (statSync(dst, { throwIfNoEntry: false })) return false;
    let parent = c.dir;
    for (const part of dirname(rel)
      .split("/")
      .filter((p) => p !== ".")) {
      parent = join(parent, part);
      if (!statSync(parent, { throwIfNoEntry: false })) {
        mkdirSync(parent);
        chmodSync(parent, 0o755);
      }
    }
    if (m.dir) mkdirSync(dst);
    else closeSync(openSync(dst, "w"));
    chmodSync(dst, m.dir ? 0o755 : 0o444);
    return true;
  }
}
