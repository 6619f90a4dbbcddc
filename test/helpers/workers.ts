import { join } from "node:path";
import type { Subprocess } from "bun";

const MAIN = join(import.meta.dir, "..", "..", "satellite", "main.ts");

export interface WorkerProcess {
  id: string;
  proc: Subprocess<"ignore", "ignore", "pipe">;
  /** Everything the worker logged so far (JSON lines). */
  log(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

const all = new Set<WorkerProcess>();

/** A real `bun satellite/main.ts --mode worker` child. */
export function spawnWorker(natsUrl: string, id: string, env: Record<string, string> = {}): WorkerProcess {
  const proc = Bun.spawn([process.execPath, MAIN, "--mode", "worker", "--id", id], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NATS_URL: natsUrl, LOG_LEVEL: "info", ...env },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  let text = "";
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) text += dec.decode(chunk, { stream: true });
  })();
  const w: WorkerProcess = {
    id,
    proc,
    log: () => text,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const code = await proc.exited;
      all.delete(w);
      return code;
    },
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
      all.delete(w);
    },
  };
  all.add(w);
  return w;
}

/** Kills whatever a test left running. */
export async function killAllWorkers(): Promise<void> {
  await Promise.all([...all].map((w) => w.kill()));
}
