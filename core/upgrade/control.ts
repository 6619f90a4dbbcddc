/**
 * Each running `bakerst serve` answers on a unix socket in its data dir
 * (`run/<id>.sock`, in the 0700 data dir, so only the owner's user reaches
 * it): what it is (`GET /status`), whether it is ready, and the upgrade and
 * handoff steps. `bakerst upgrade`, `bakerst restore` and a new core find the
 * running ones by listing these sockets; a socket nobody answers on is left
 * from a crash and removed.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import { sha256Hex } from "../util/crypto.ts";

/** What `GET /status` answers. */
export interface ServerStatus {
  instance: string;
  pid: number;
  version: string;
  /** active: serves and owns the data dir; candidate: a new core taking over; draining: handing over; passive: handed over. */
  state: "starting" | "active" | "candidate" | "draining" | "passive";
  /** The machine (in Kubernetes, the pod) it runs on: several may share a data dir on one volume. */
  hostname: string;
  /** Where the HTTP server listens (port 0 until it does). */
  host: string;
  port: number;
  mode: "edge" | "cluster";
  socket: string;
  startedAt: number;
}

/** Longest unix socket path Linux accepts, less room for the NUL. */
const MAX_SOCKET_PATH = 100;

/** Where a data dir's sockets live; a path too long for a socket falls back to a private dir under the system temp dir. */
export function runDirs(dataDir: string): string[] {
  return [join(dataDir, "run"), join(tmpdir(), `bakerst-${process.getuid?.() ?? "u"}-${sha256Hex(dataDir).slice(0, 16)}`)];
}

export interface ControlSocket {
  path: string;
  stop(): void;
}

/** Opens this process's socket; `handle` answers its requests. */
export function openControlSocket(dataDir: string, id: string, handle: (req: Request) => Response | Promise<Response>): ControlSocket {
  const name = `${id}.sock`;
  const dir = runDirs(dataDir).find((d) => join(d, name).length <= MAX_SOCKET_PATH);
  if (!dir) throw new Error(`no place for a control socket: ${join(dataDir, "run", name)} is longer than ${MAX_SOCKET_PATH} characters, and so is the fallback in ${tmpdir()}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, name);
  rmSync(path, { force: true });
  let server: Server<unknown> | undefined = Bun.serve({ unix: path, fetch: handle, development: false });
  return {
    path,
    stop() {
      void server?.stop(true);
      server = undefined;
      rmSync(path, { force: true });
    },
  };
}

/** One request to a server's socket; rejects when nobody answers within `timeoutMs`. */
export async function controlFetch(socket: string, path: string, init: { method?: string; body?: unknown; timeoutMs?: number } = {}): Promise<Response> {
  return fetch(`http://bakerst${path}`, {
    unix: socket,
    method: init.method ?? "GET",
    ...(init.body !== undefined ? { body: JSON.stringify(init.body), headers: { "content-type": "application/json" } } : {}),
    signal: AbortSignal.timeout(init.timeoutMs ?? 2_000),
  });
}

const isSocket = (path: string) => {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
};

/**
 * The servers running on this data dir, by asking each socket. A socket that
 * refuses the connection was left by a process that died, and is removed.
 */
export async function runningServers(dataDir: string, timeoutMs = 2_000): Promise<ServerStatus[]> {
  const sockets = runDirs(dataDir).flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith(".sock"))
          .map((f) => join(dir, f))
      : [],
  );
  const found = await Promise.all(
    sockets.filter(isSocket).map(async (socket) => {
      try {
        const res = await controlFetch(socket, "/status", { timeoutMs });
        return res.ok ? ((await res.json()) as ServerStatus) : undefined;
      } catch (err) {
        // Refused or gone: nobody listens. A timeout is a live but busy server: kept.
        const code = (err as { code?: string }).code;
        if (code === "ECONNREFUSED" || code === "ENOENT" || /refused|no such file/i.test(String((err as Error).message))) rmSync(socket, { force: true });
        else return { instance: "?", pid: 0, version: "?", state: "active", hostname: "?", host: "", port: 0, mode: "edge", socket, startedAt: 0 } satisfies ServerStatus;
        return undefined;
      }
    }),
  );
  return found.filter((s): s is ServerStatus => !!s);
}
