/**
 * The compiled `bakerst` binary, built once per test run into a temp dir and
 * started from an empty directory, so end-to-end tests exercise exactly what
 * ships (embedded UI included).
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "../../build.ts";
import { tempDir } from "./app.ts";

let built: Promise<string> | undefined;

export function compiledBinary(): Promise<string> {
  built ??= (async () => {
    const outdir = tempDir("bakerst-bin-");
    const [file] = await build({ outdir, targets: ["bakerst"] });
    if (!file) throw new Error("build produced no bakerst binary");
    process.once("exit", () => rmSync(outdir, { recursive: true, force: true }));
    return file;
  })();
  return built;
}

export interface RunningBinary {
  url: string;
  dataDir: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

/** Starts the binary on a free loopback port with only the given environment; resolves once it listens. */
export async function startBinary(env: Record<string, string>, timeoutMs = 15_000): Promise<RunningBinary> {
  const bin = await compiledBinary();
  const cwd = tempDir("bakerst-run-");
  const dataDir = join(cwd, "data");
  const proc = Bun.spawn([bin, "serve"], {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, HOST: "127.0.0.1", PORT: "0", BAKERST_DATA_DIR: dataDir, LOG_LEVEL: "info", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  // Logs are JSON lines on stderr; the first-start login banner goes to stdout. Both land in `out`.
  let out = "";
  const pipe = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) out += dec.decode(chunk, { stream: true });
  };
  let url: string | undefined;
  const pump = Promise.all([pipe(proc.stdout), pipe(proc.stderr)]);
  const deadline = Date.now() + timeoutMs;
  while (!url) {
    const m = /"msg":"bakerst listening","url":"(http:\/\/[^"]+)"/.exec(out);
    if (m) url = m[1];
    else if (proc.exitCode !== null) throw new Error(`bakerst exited with ${proc.exitCode}: ${out}`);
    else if (Date.now() > deadline) {
      proc.kill();
      throw new Error(`bakerst did not start within ${timeoutMs} ms: ${out}`);
    } else await Bun.sleep(25);
  }
  // The login banner is written right after the listening line.
  await Bun.sleep(50);
  return {
    url: url!,
    dataDir,
    output: () => out,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      await pump.catch(() => {});
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}
