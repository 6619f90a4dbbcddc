/**
 * `bakerst nats init` as a function, so the companion area can add an
 * identity the same way: one nkey per identity (seed files, 0600 in a 0700
 * dir), and the nats-server config allowing each only its role's subjects.
 * Running it again keeps every existing seed (unless `rotate`) and adds the
 * ones asked for; a running server that wrote its pid file is told to reload.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createUser, fromSeed } from "@nats-io/nkeys";
import { identityName, type NatsIdentity } from "../protocol/permissions.ts";
import { InvalidSubjectTokenError, isSubjectToken } from "../protocol/subjects.ts";
import { readServerSettings, renderServerConfig, type ServerSettings } from "./server-config.ts";

export const DEFAULT_LISTEN = "127.0.0.1:4222";
export const CONFIG_FILE = "nats-server.conf";
export const CREDS_DIR = "creds";

export interface NatsInitOptions {
  /** Where the config, the creds dir and (by default) the JetStream store go. */
  dir: string;
  companions?: string[];
  extensions?: string[];
  /** Replace every seed, existing ones included. */
  rotate?: boolean;
  /** Defaults: what the existing config says, else DEFAULT_LISTEN and `<dir>/jetstream`. */
  listen?: string;
  storeDir?: string;
  /** Where the server writes its pid (default `<dir>/nats-server.pid`; in a container, a writable path of its own). */
  pidFile?: string;
  version: string;
}

export interface WrittenIdentity {
  identity: NatsIdentity;
  name: string;
  credsFile: string;
  publicKey: string;
  /** new: created now; kept: the seed was there; rotated: replaced now. */
  state: "new" | "kept" | "rotated";
}

export interface NatsInitResult {
  configFile: string;
  settings: ServerSettings;
  identities: WrittenIdentity[];
  /** The pid of a running nats-server told to reload, when there was one. */
  reloaded?: number;
}

export class NatsInitError extends Error {
  override name = "NatsInitError";
}

const FILE = /^(core|worker|task|companion-(.+)|extension-(.+))\.nk$/;

function identityOfFile(name: string): NatsIdentity | undefined {
  const m = FILE.exec(name);
  if (!m) return undefined;
  if (m[1] === "core" || m[1] === "worker" || m[1] === "task") return { role: m[1] };
  const id = (m[2] ?? m[3])!;
  if (!isSubjectToken(id)) return undefined;
  return m[2] !== undefined ? { role: "companion", id } : { role: "extension", id };
}

function checkName(flag: string, id: string): string {
  if (!isSubjectToken(id)) throw new NatsInitError(`${flag} ${new InvalidSubjectTokenError("name", id).message}`);
  return id;
}

function checkListen(listen: string): string {
  const m = /^([A-Za-z0-9.:[\]-]+):(\d{1,5})$/.exec(listen);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new NatsInitError(`--listen must be HOST:PORT (e.g. 0.0.0.0:4222), got ${JSON.stringify(listen)}`);
  return listen;
}

/** Written beside, then renamed over: a reader never sees half a file. */
function writeAtomic(path: string, data: string | Uint8Array, mode: number) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** Sends SIGHUP (reload) to the server named in its pid file, if that process is a running nats-server. */
function reloadServer(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    // A stale pid file may name a process that is no longer the server.
    if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("nats-server")) return undefined;
    process.kill(pid, "SIGHUP");
    return pid;
  } catch {
    return undefined;
  }
}

export function natsInit(opts: NatsInitOptions): NatsInitResult {
  const dir = resolve(opts.dir);
  const credsDir = join(dir, CREDS_DIR);
  const configFile = join(dir, CONFIG_FILE);
  const wanted: NatsIdentity[] = [
    { role: "core" },
    { role: "worker" },
    { role: "task" },
    ...(opts.companions ?? []).map((id) => ({ role: "companion" as const, id: checkName("--companion", id) })),
    ...(opts.extensions ?? []).map((id) => ({ role: "extension" as const, id: checkName("--extension", id) })),
  ];
  const previous = existsSync(configFile) ? readServerSettings(readFileSync(configFile, "utf8")) : {};
  const settings: ServerSettings = {
    listen: checkListen(opts.listen ?? previous.listen ?? DEFAULT_LISTEN),
    storeDir: resolve(opts.storeDir ?? previous.storeDir ?? join(dir, "jetstream")),
    pidFile: opts.pidFile ?? previous.pidFile ?? join(dir, "nats-server.pid"),
  };

  mkdirSync(credsDir, { recursive: true, mode: 0o700 });
  chmodSync(credsDir, 0o700);
  const existing = readdirSync(credsDir).flatMap((f) => {
    const identity = identityOfFile(f);
    return identity ? [identity] : [];
  });
  const byName = new Map<string, NatsIdentity>();
  for (const identity of [...wanted, ...existing]) byName.set(identityName(identity), identity);

  const identities: WrittenIdentity[] = [...byName.entries()]
    .sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))
    .map(([name, identity]) => {
      const credsFile = join(credsDir, `${name}.nk`);
      const had = existsSync(credsFile);
      let seed: Uint8Array;
      if (had && !opts.rotate) {
        seed = new TextEncoder().encode(readFileSync(credsFile, "utf8").trim());
      } else {
        seed = createUser().getSeed();
        writeAtomic(credsFile, `${new TextDecoder().decode(seed)}\n`, 0o600);
      }
      let publicKey: string;
      try {
        publicKey = fromSeed(seed).getPublicKey();
      } catch {
        throw new NatsInitError(`${credsFile} does not hold an nkey seed; remove it, or run again with --rotate to replace every seed`);
      }
      return { identity, name, credsFile, publicKey, state: !had ? "new" : opts.rotate ? "rotated" : "kept" };
    });

  const before = existsSync(configFile) ? readFileSync(configFile, "utf8") : undefined;
  const text = renderServerConfig(settings, identities, opts.version);
  const result: NatsInitResult = { configFile, settings, identities };
  if (text === before) return result;
  writeAtomic(configFile, text, 0o644);
  if (before !== undefined) {
    const pid = reloadServer(settings.pidFile);
    if (pid) result.reloaded = pid;
  }
  return result;
}

const ROLE_ORDER = ["core", "worker", "task", "companion", "extension"];
const order = (name: string) => ROLE_ORDER.indexOf(name.split("-")[0]!);
