import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runningServers } from "../../core/upgrade/control.ts";
import { TOKEN, tempDir } from "../helpers/app.ts";
import { compiledBinary } from "../helpers/binary.ts";
import { waitFor } from "../helpers/nats.ts";

/** `bakerst upgrade NEW_BINARY` run against a data dir, its lines as they come. */
export function runUpgrade(bin: string, dataDir: string, newBinary: string, args: string[] = []) {
  const proc = Bun.spawn([bin, "upgrade", newBinary, ...args], { env: { PATH: "/usr/bin:/bin", BAKERST_DATA_DIR: dataDir, HOME: dataDir }, stdout: "pipe", stderr: "pipe" });
  let out = "";
  const pump = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stdout) out += dec.decode(chunk, { stream: true });
  })();
  const err = new Response(proc.stderr).text();
  return {
    output: () => out,
    async finished() {
      const code = await proc.exited;
      await pump;
      return { code, stdout: out, stderr: await err };
    },
  };
}

/** A file that prints a bakerst version and runs `bun` on a fixture, for a new binary that is not the compiled one. */
export function fixtureBinary(name: string, fixture: string): string {
  const file = join(tempDir("bakerst-fixture-bin-"), name);
  writeFileSync(file, `#!/bin/sh\nexec ${process.execPath} ${join(import.meta.dir, "..", "fixtures", "upgrade", fixture)} "$@"\n`, { mode: 0o755 });
  chmodSync(file, 0o755);
  return file;
}

/** A copy of the compiled binary under another path, as an owner would download the new one. */
export async function newBinary(): Promise<string> {
  const file = join(tempDir("bakerst-new-bin-"), "bakerst");
  await Bun.write(file, Bun.file(await compiledBinary()));
  chmodSync(file, 0o755);
  return file;
}

/** Stops the bakerst an upgrade started (it is no child of this process): SIGTERM by its pid, then waits for its socket to go. */
export async function stopServersOn(dataDir: string): Promise<void> {
  const running = await runningServers(dataDir);
  for (const s of running) {
    try {
      process.kill(s.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  for (const s of running) await waitFor(`bakerst pid ${s.pid} to stop`, () => !existsSync(`/proc/${s.pid}`) || !existsSync(s.socket), 30_000, 50);
}

export const auth = { authorization: `Bearer ${TOKEN}` };

/** The stored conversation, as the API gives it. */
export async function conversation(url: string, id: string) {
  const res = await fetch(`${url}/api/conversations/${id}`, { headers: auth });
  return (await res.json()) as { messages: { role: string; partial: boolean; error: unknown; content: { type: string; text?: string }[] }[] };
}
