/**
 * A core with companions over a real nats-server run with the per-role config
 * `bakerst nats init` writes, and compiled companions paired through the API.
 * The server can be stopped and started again on the same port (a link cut),
 * its JetStream store kept.
 */

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { CONFIG_FILE, natsInit } from "../../core/nats/init.ts";
import type { EnrollmentBundle } from "../../core/protocol/index.ts";
import { makeApp, tempDir } from "../helpers/app.ts";
import { compiledBinary } from "../helpers/binary.ts";
import { startNatsWithConfig, waitFor } from "../helpers/nats.ts";

export interface CompanionProcess {
  proc: Subprocess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<number>;
}

export async function companionWorld(env: Record<string, string> = {}) {
  const dir = tempDir("bakerst-companions-");
  const natsDir = join(dir, "nats");
  natsInit({ dir: natsDir, version: "test" });
  const first = await startNatsWithConfig(join(natsDir, CONFIG_FILE));
  const port = new URL(first.url).port;
  let server: { stop(): Promise<void> } = first;
  const app = await makeApp({
    NATS_URL: first.url,
    NATS_CREDS: join(natsDir, "creds", "core.nk"),
    COMPANION_OFFLINE_MS: "1500",
    TASK_CONCURRENCY: "32",
    ...env,
  });
  const binary = await compiledBinary("bakerst-satellite");
  const companions: CompanionProcess[] = [];

  /** Starts nats-server again on the same port, with the same config and store. */
  const startServer = async () => {
    const proc = Bun.spawn(["nats-server", "-c", join(natsDir, CONFIG_FILE), "-a", "127.0.0.1", "-p", port], { stdout: "ignore", stderr: "ignore" });
    await waitFor("nats-server to listen again", async () => {
      if (proc.exitCode !== null) throw new Error(`nats-server exited with ${proc.exitCode}`);
      return Bun.connect({ hostname: "127.0.0.1", port: Number(port), socket: { data() {} } })
        .then((s) => (s.end(), true))
        .catch(() => false);
    });
    server = {
      stop: async () => {
        proc.kill("SIGTERM");
        await proc.exited;
      },
    };
  };

  return {
    dir,
    natsDir,
    url: first.url,
    app,
    async pair(name: string): Promise<{ bundle: EnrollmentBundle; installCommand: string }> {
      const res = await app.request("/api/companions", { method: "POST", json: { name } });
      if (res.status !== 201) throw new Error(`pairing ${name}: HTTP ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { bundle: string; installCommand: string };
      return { bundle: JSON.parse(Buffer.from(body.bundle, "base64url").toString("utf8")) as EnrollmentBundle, installCommand: body.installCommand };
    },
    /** Runs the compiled companion with the bundle's settings; its state dir stays across restarts. */
    start(bundle: EnrollmentBundle, extra: Record<string, string> = {}): CompanionProcess {
      const home = join(dir, `companion-${bundle.id}`);
      mkdirSync(home, { recursive: true });
      const seedFile = join(home, "seed.nk");
      writeFileSync(seedFile, `${bundle.seed}\n`, { mode: 0o600 });
      let out = "";
      const proc = Bun.spawn([binary, "--mode", "companion"], {
        cwd: home,
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          NATS_URL: bundle.natsUrl,
          NATS_CREDS: seedFile,
          COMPANION_ID: bundle.id,
          CORE_PUBLIC_KEY: bundle.corePublicKey,
          COMPANION_STATE_DIR: join(home, "state"),
          HEARTBEAT_INTERVAL_MS: "300",
          WORKER_CONCURRENCY: "4",
          DRAIN_TIMEOUT_MS: "5000",
          LOG_LEVEL: "info",
          ...extra,
        },
        stdout: "pipe",
        stderr: "pipe",
      });
      const read = async (s: ReadableStream<Uint8Array>) => {
        for await (const chunk of s) out += new TextDecoder().decode(chunk);
      };
      void read(proc.stdout as ReadableStream<Uint8Array>);
      void read(proc.stderr as ReadableStream<Uint8Array>);
      const c: CompanionProcess = {
        proc,
        output: () => out,
        async kill(signal = "SIGTERM") {
          if (proc.exitCode === null) proc.kill(signal);
          return proc.exited;
        },
      };
      companions.push(c);
      return c;
    },
    async stopNats() {
      await server.stop();
    },
    startNats: startServer,
    async status(name: string): Promise<Record<string, unknown>> {
      return (await (await app.request(`/api/companions/${name}`)).json()) as Record<string, unknown>;
    },
    seed(name: string): string {
      return readFileSync(join(dir, `companion-${name}`, "seed.nk"), "utf8").trim();
    },
    async close() {
      await Promise.all(companions.map((c) => c.kill("SIGKILL")));
      await app.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type CompanionWorld = Awaited<ReturnType<typeof companionWorld>>;
