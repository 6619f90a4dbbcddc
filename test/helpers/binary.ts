/**
 * The compiled binaries, built once per test run and started from an empty
 * directory, so end-to-end tests exercise exactly what ships (embedded UI
 * included). `npm test` builds both before `bun test` and names the folder in
 * TEST_BIN_DIR; a bare `bun test` builds what it needs once per process.
 */

import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { build } from "../../build.ts";
import { tempDir } from "./app.ts";
import { waitFor } from "./nats.ts";

export type BinaryName = "bakerst" | "bakerst-satellite";

const built = new Map<BinaryName, Promise<string>>();

export function compiledBinary(name: BinaryName = "bakerst"): Promise<string> {
  let file = built.get(name);
  if (!file) {
    file = (async () => {
      const prebuilt = process.env.TEST_BIN_DIR && join(process.env.TEST_BIN_DIR, name);
      if (prebuilt && existsSync(prebuilt)) return prebuilt;
      const outdir = tempDir("bakerst-bin-");
      const [out] = await build({ outdir, targets: [name] });
      if (!out) throw new Error(`build produced no ${name} binary`);
      process.once("exit", () => rmSync(outdir, { recursive: true, force: true }));
      return out;
    })();
    built.set(name, file);
  }
  return file;
}

export interface RunningBinary {
  url: string;
  dataDir: string;
  pid: number;
  /** Resolves with the exit code once the process ends (on its own, after an upgrade, or by stop). */
  exited: Promise<number>;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

export interface ServeProcess {
  proc: Subprocess;
  /** The URL it logged that it listens on. */
  url: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
}

/**
 * Runs `serve` (the compiled binary, or `bun core/main.ts`) with exactly this
 * environment; resolves once it logs the URL it listens on (LOG_LEVEL info or lower).
 */
export async function spawnServe(cmd: string[], opts: { cwd: string; env: Record<string, string>; timeoutMs?: number }): Promise<ServeProcess> {
  const proc = Bun.spawn(cmd, { cwd: opts.cwd, env: opts.env, stdout: "pipe", stderr: "pipe" });
  // Logs are JSON lines on stderr; the first-start login banner goes to stdout. Both land in `out`.
  let out = "";
  const pipe = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) out += dec.decode(chunk, { stream: true });
  };
  void Promise.all([pipe(proc.stdout), pipe(proc.stderr)]).catch(() => undefined);
  const url = await waitFor(
    "bakerst to listen",
    () => {
      if (proc.exitCode !== null) throw new Error(`bakerst exited with ${proc.exitCode}: ${out}`);
      return /"msg":"bakerst listening","url":"(http:\/\/[^"]+)"/.exec(out)?.[1];
    },
    opts.timeoutMs ?? 15_000,
  ).catch((err: Error) => {
    proc.kill();
    throw new Error(`${err.message}: ${out}`);
  });
  return { proc, url, output: () => out };
}

/** Starts the binary on a free loopback port with only the given environment; resolves once it listens. */
export async function startBinary(env: Record<string, string>, timeoutMs = 15_000, cwd = tempDir("bakerst-run-")): Promise<RunningBinary> {
  const bin = await compiledBinary();
  const dataDir = join(cwd, "data");
  const { proc, url, output } = await spawnServe([bin, "serve"], {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, HOST: "127.0.0.1", PORT: "0", BAKERST_DATA_DIR: dataDir, LOG_LEVEL: "info", ...env },
    timeoutMs,
  });
  return {
    url,
    dataDir,
    pid: proc.pid,
    exited: proc.exited,
    output,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}
