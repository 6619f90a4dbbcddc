import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { NatsBus } from "../../core/bus/nats.ts";
import { QUEUES } from "../../core/protocol/queues.ts";
import { tempDir } from "../helpers/app.ts";
import { grammarsFile } from "../helpers/grammars.ts";
import { startNats, waitFor } from "../helpers/nats.ts";
import { startSecuredNats } from "../helpers/nats-identities.ts";

const main = join(import.meta.dir, "..", "..", "satellite", "main.ts");
const run = (args: string[], env: Record<string, string> = {}) =>
  Bun.spawnSync([process.execPath, main, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, stdout: "pipe", stderr: "pipe" });

describe("bakerst-satellite", () => {
  test("--help lists the modes, flags and every setting", () => {
    const r = run(["--help"]);
    expect(r.exitCode).toBe(0);
    const out = r.stdout.toString();
    expect(out).toContain("--mode worker");
    for (const k of ["NATS_URL", "WORKER_CONCURRENCY", "COMMAND_ALLOWLIST", "COMMAND_SANDBOX", "COMMAND_GRAMMARS_FILE", "HTTP_JOB_DENY", "ANTHROPIC_API_KEY"])
      expect(out).toContain(k);
  }, 15_000);

  test("bad settings exit 2 with a message naming the key", () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [[], {}, /--mode must be one of worker/],
      [["--mode", "worker"], {}, /NATS_URL must be a nats:\/\/ URL/],
      [["--mode", "worker"], { NATS_URL: "http://x" }, /NATS_URL must be a nats:\/\/ URL/],
      [["--mode", "worker", "--concurrency", "0"], { NATS_URL: "nats://127.0.0.1:4222" }, /WORKER_CONCURRENCY must be an integer from 1 to 256/],
      [["--mode", "worker"], { NATS_URL: "nats://127.0.0.1:4222", WORKER_ID: "a.b" }, /WORKER_ID must be/],
      [["--mode", "worker"], { NATS_URL: "nats://127.0.0.1:4222", MODEL_WORKER: "gpt-4o" }, /MODEL_WORKER must be anthropic:<model> or openai:<model>/],
      [["--mode", "worker"], { NATS_URL: "nats://127.0.0.1:4222", MODEL_WORKER: "openai:llama3.1" }, /OPENAI_BASE_URL must be the OpenAI-compatible server's URL/],
      [["--mode", "worker", "--bogus"], {}, /Unknown option '--bogus'/],
      [["--mode", "worker"], { NATS_URL: "nats://127.0.0.1:4222", COMMAND_SANDBOX: "sometimes" }, /COMMAND_SANDBOX must be required or off/],
    ];
    for (const [args, env, message] of cases) {
      const r = run(args, env);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.toString()).toMatch(message);
    }
  }, 15_000);

  test("a bad allowlist entry is refused at start", () => {
    const r = run(["--mode", "worker"], { NATS_URL: "nats://127.0.0.1:1", COMMAND_ALLOWLIST: "date,sh" });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain("COMMAND_ALLOWLIST: sh runs other programs");
  }, 15_000);

  test("a NATS_CREDS file that is neither a seed nor a .creds file is refused before connecting", () => {
    const bad = join(tempDir(), "creds");
    writeFileSync(bad, "not a key\n");
    const r = run(["--mode", "worker"], { NATS_URL: "nats://127.0.0.1:1", NATS_CREDS: bad });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain(`NATS_CREDS: ${bad} is neither an nkey user seed`);
  }, 15_000);

  test("a server with identities turns away a worker without credentials, and the worker says which setting to check", async () => {
    const nats = await startSecuredNats();
    try {
      const p = Bun.spawn([process.execPath, main, "--mode", "worker", "--id", "anon"], {
        env: { PATH: process.env.PATH ?? "", NATS_URL: nats.url },
        stdout: "ignore",
        stderr: "pipe",
      });
      const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
      expect(code).toBe(1);
      expect(stderr).toContain("NATS_CREDS is not set");
      expect(stderr).toContain(`cannot use NATS at ${nats.url}: Authorization Violation (check NATS_URL and NATS_CREDS)`);
    } finally {
      await nats.cleanup();
    }
  }, 30_000);

  test("a grammar file names the file and the path of what is wrong in it; an allowlist entry without a grammar is refused", () => {
    const base = { NATS_URL: "nats://127.0.0.1:1" };
    const cases: [unknown, RegExp][] = [
      [{ seq: { syntax: "gnu", options: [{ long: ["x"], value: "sometimes" }] } }, /COMMAND_GRAMMARS_FILE: .*grammars\.json: seq\.options\.0\.value: /],
      [{ seq: { syntax: "gnu", operands: { max: 1, pattern: "([0-9]" } } }, /COMMAND_GRAMMARS_FILE: .*grammars\.json: seq\.operands\.pattern: a valid regular expression/],
      [{ bash: { syntax: "gnu" } }, /COMMAND_GRAMMARS_FILE: .*: bash: a program that runs no other programs \(bash does/],
    ];
    for (const [grammars, message] of cases) {
      const r = run(["--mode", "worker"], { ...base, COMMAND_GRAMMARS_FILE: grammarsFile(grammars as never) });
      expect(r.exitCode).toBe(2);
      expect(r.stderr.toString()).toMatch(message);
    }
    const missing = run(["--mode", "worker"], { ...base, COMMAND_GRAMMARS_FILE: "/nonexistent/grammars.yaml" });
    expect(missing.stderr.toString()).toContain("COMMAND_GRAMMARS_FILE: /nonexistent/grammars.yaml: cannot be read as YAML");
    const unknown = run(["--mode", "worker"], { ...base, COMMAND_ALLOWLIST: "date,seq" });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr.toString()).toContain("COMMAND_ALLOWLIST: seq has no grammar");
  }, 30_000);

  test("HEALTH_PORT answers the probes: alive from the start, ready once it pulls jobs and only while connected to NATS", async () => {
    const nats = await startNats();
    const core = await NatsBus.open({ url: nats.url, name: "test-core" });
    const worker = Bun.spawn([process.execPath, main, "--mode", "worker", "--id", "probed"], {
      env: { PATH: process.env.PATH ?? "", NATS_URL: nats.url, HEALTH_PORT: "0", HEALTH_HOST: "127.0.0.1", LOG_LEVEL: "info" },
      stdout: "ignore",
      stderr: "pipe",
    });
    let log = "";
    void (async () => {
      for await (const c of worker.stderr) log += new TextDecoder().decode(c);
    })();
    try {
      const url = await waitFor("the health port", () => /"msg":"health listening".*?"url":"([^"]+)"/.exec(log)?.[1], 20_000);
      expect(await (await fetch(`${url}/ping`)).text()).toBe("pong");
      // No core has declared the job queue yet: the worker waits for it, alive but not ready.
      expect((await fetch(`${url}/readyz`)).status).toBe(503);
      await core.declare(QUEUES.jobs, { ackWaitMs: 30_000 });
      await waitFor("ready once the queue exists", async () => (await fetch(`${url}/readyz`)).status === 200, 20_000);
      expect((await fetch(`${url}/metrics`)).status).toBe(404);
      await nats.stop();
      await waitFor("not ready while NATS is down", async () => (await fetch(`${url}/readyz`)).status === 503);
      await nats.start();
      await waitFor("ready again once reconnected", async () => (await fetch(`${url}/readyz`)).status === 200, 20_000);
    } finally {
      worker.kill("SIGTERM");
      await worker.exited;
      await core.close();
      await nats.cleanup();
    }
  }, 60_000);
});
