import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { type Subprocess, spawnSync } from "bun";

export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** Stops the server (SIGTERM, then SIGKILL); the store dir stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same store. */
  start(): Promise<void>;
  /** Stops it and removes the store. */
  cleanup(): Promise<void>;
}

function natsBinary(): string {
  const found = Bun.which("nats-server") ?? Bun.which("nats-server", { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });
  if (found) return found;
  const install = "apt-get update && apt-get install -y nats-server";
  if (process.getuid?.() === 0) {
    const r = spawnSync(["sh", "-c", `${install} >/dev/null 2>&1`]);
    const again = Bun.which("nats-server", { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });
    if (r.exitCode === 0 && again) return again;
  }
  throw new Error(`nats-server is not installed; the NATS tests need it. Run: sudo ${install}`);
}

/**
 * A real nats-server with JetStream on a loopback port it picks itself (`-p -1`)
 * and a temp store. The port is read from the ports file the server writes once
 * it listens, so no other process can take the port between choosing and binding.
 */
export async function startNats(): Promise<NatsServer> {
  const bin = natsBinary();
  const storeDir = mkdtempSync(join(tmpdir(), "bakerst-nats-"));
  const portsDir = mkdtempSync(join(tmpdir(), "bakerst-nats-ports-"));
  // -1 until the first start; a restart asks for the same port so clients reconnect to it.
  let port = -1;
  let proc: Subprocess | undefined;
  const start = async () => {
    const p = Bun.spawn([bin, "-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir, "--ports_file_dir", portsDir], { stdout: "ignore", stderr: "ignore" });
    proc = p;
    const file = join(portsDir, `${basename(bin)}_${p.pid}.ports`);
    const url = await waitFor(`nats-server's ports file ${file}`, () => {
      if (p.exitCode !== null) throw new Error(`nats-server exited with ${p.exitCode} (port ${port})`);
      return portsFileUrl(file);
    });
    port = Number(new URL(url).port);
  };
  const stop = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    p.kill("SIGTERM");
    const killed = await Promise.race([p.exited.then(() => true), Bun.sleep(5_000).then(() => false)]);
    if (!killed) {
      p.kill("SIGKILL");
      await p.exited;
    }
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    stop,
    start,
    async cleanup() {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
      rmSync(portsDir, { recursive: true, force: true });
    },
  };
}

/** The client URL from a ports file (`{"nats":["nats://127.0.0.1:PORT"]}`), once it is there and whole. */
function portsFileUrl(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { nats?: string[] }).nats?.[0];
  } catch {
    return undefined; // still being written
  }
}

export interface ConfiguredNats {
  url: string;
  pid: number;
  /** SIGHUP: the server reads its config file again. */
  reload(): void;
  /** Stops it (the config's directory is the caller's). */
  stop(): Promise<void>;
}

/**
 * A real nats-server run from a config file (what `bakerst nats init` writes),
 * on a port the server picks itself and reports in its ports file: no race
 * for a free port.
 */
export async function startNatsWithConfig(configFile: string): Promise<ConfiguredNats> {
  const bin = natsBinary();
  const portsDir = mkdtempSync(join(tmpdir(), "bakerst-nats-ports-"));
  const proc = Bun.spawn([bin, "-c", configFile, "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", portsDir], { stdout: "ignore", stderr: "ignore" });
  const portsFile = join(portsDir, `nats-server_${proc.pid}.ports`);
  const url = await waitFor(
    "the nats-server ports file",
    () => {
      if (proc.exitCode !== null) throw new Error(`nats-server exited with ${proc.exitCode} (config ${configFile})`);
      return portsFileUrl(portsFile);
    },
    10_000,
  );
  return {
    url,
    pid: proc.pid,
    reload: () => proc.kill("SIGHUP"),
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      await proc.exited;
      rmSync(portsDir, { recursive: true, force: true });
    },
  };
}

/** Polls `cond` until it holds or the deadline passes; the error names what was awaited. */
export async function waitFor<T>(what: string, cond: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 20): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < until) {
    last = await cond();
    if (last) return last as NonNullable<T>;
    await Bun.sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}
