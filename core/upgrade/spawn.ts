/**
 * `bakerst upgrade NEW_BINARY` asks the running core to start its successor:
 * the core checks the file (a bakerst, owned by this user or root, writable
 * by nobody else) and starts it with its own environment, on its own port,
 * as a process of its own (its own session, so it outlives the old one).
 */
import { lstatSync, realpathSync } from "node:fs";
import { isAbsolute } from "node:path";
import type { Subprocess } from "bun";

export class BinaryRefusedError extends Error {
  override name = "BinaryRefusedError";
}

/** How long `NEW_BINARY --version` may take. */
const VERSION_TIMEOUT_MS = 10_000;

/** Checks that `path` is a bakerst binary this process may run as its successor; returns its real path and version. */
export async function checkBinary(path: string): Promise<{ path: string; version: string }> {
  if (!isAbsolute(path)) throw new BinaryRefusedError(`${JSON.stringify(path)} is not an absolute path`);
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new BinaryRefusedError(`${path} does not exist`);
  }
  const st = lstatSync(real);
  if (!st.isFile()) throw new BinaryRefusedError(`${real} is not a file`);
  if (!(st.mode & 0o100)) throw new BinaryRefusedError(`${real} is not executable (chmod u+x)`);
  // Another user who can write the file could swap what runs with the owner's data and keys.
  if (st.mode & 0o022) throw new BinaryRefusedError(`${real} is writable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod go-w first`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) throw new BinaryRefusedError(`${real} belongs to uid ${st.uid}, not to this user (${uid}) or root`);
  const proc = Bun.spawn([real, "--version"], { stdin: "ignore", stdout: "pipe", stderr: "ignore", env: { PATH: "/usr/bin:/bin" }, timeout: VERSION_TIMEOUT_MS });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  const m = /^bakerst (\S{1,64})\s*$/.exec(out);
  if (code !== 0 || !m) throw new BinaryRefusedError(`${real} --version did not answer like bakerst (exit ${code}: ${JSON.stringify(out.slice(0, 80))})`);
  return { path: real, version: m[1]! };
}

/** Starts the successor: `serve`, with the given environment, detached, its output where this process's goes. */
export function startSuccessor(path: string, env: Record<string, string>): Subprocess {
  const child = Bun.spawn([path, "serve"], { env, stdin: "ignore", stdout: "inherit", stderr: "inherit", detached: true });
  // The old process must be free to exit before its successor does.
  child.unref();
  return child;
}
