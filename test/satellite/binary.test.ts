import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeApp, tempDir } from "../helpers/app.ts";
import { compiledBinary } from "../helpers/binary.ts";
import { type NatsServer, startNats, waitFor } from "../helpers/nats.ts";

let bin: string;
let nats: NatsServer;

beforeAll(async () => {
  bin = await compiledBinary("bakerst-satellite");
  nats = await startNats();
}, 120_000);
afterAll(async () => {
  await nats.cleanup();
});

describe("the compiled bakerst-satellite binary", () => {
  test("runs from an empty directory with nothing beside it: --help, and a worker that completes a job from the core", async () => {
    const help = Bun.spawnSync([bin, "--help"], { cwd: tempDir("bakerst-sat-cwd-"), env: { PATH: "/usr/bin:/bin" } });
    expect(help.exitCode).toBe(0);
    expect(help.stdout.toString()).toContain("--mode worker");

    const h = await makeApp({ NATS_URL: nats.url, NATS_INSECURE: "true", EDGE_WORKER: "false" });
    const worker = Bun.spawn([bin, "--mode", "worker", "--id", "compiled-1"], {
      cwd: tempDir("bakerst-sat-cwd-"),
      env: { PATH: "/usr/bin:/bin", NATS_URL: nats.url, COMMAND_ALLOWLIST: "date", LOG_LEVEL: "info" },
      stdout: "ignore",
      stderr: "pipe",
    });
    try {
      const res = await h.request("/api/jobs", { method: "POST", json: { type: "command", command: "date -u" } });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      const done = await waitFor(
        "job completed by the compiled worker",
        async () => {
          const j = (await (await h.request(`/api/jobs/${id}`)).json()) as { status: string; workerId?: string; result?: { stdout: string } };
          return j.status === "completed" || j.status === "failed" ? j : undefined;
        },
        20_000,
      );
      expect(done.status).toBe("completed");
      expect(done.workerId).toBe("compiled-1");
      expect(done.result?.stdout).toContain("UTC");
      worker.kill("SIGTERM");
      expect(await worker.exited).toBe(0);
      // bun:ffi works in the compiled binary: the worker sets the sandbox's limits itself, without a prlimit exec.
      expect(await new Response(worker.stderr).text()).toContain("resource limits set by the worker before the program starts");
    } finally {
      if (worker.exitCode === null) worker.kill("SIGKILL");
      await h.close();
    }
  }, 60_000);
});
