import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { AREAS } from "../../core/areas.ts";
import { formatChecks, runDoctor } from "../../core/cli/doctor.ts";
import { makeApp, TOKEN, testConfig } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";

/**
 * Where bubblewrap cannot work, start-up, health and doctor say so with the
 * fix, and command jobs are refused unless the owner opts out. The machine
 * without user namespaces is real: bakerst runs as uid 1000 inside a bwrap
 * sandbox made with --disable-userns, so its own trial sandbox fails the way
 * it does on a host where they are turned off.
 */
const repo = join(import.meta.dir, "..", "..");
const bun = process.execPath;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function withoutUserNamespaces(args: string[], env: Record<string, string>) {
  const dataDir = mkdtempSync("/var/tmp/bakerst-nouserns-");
  dirs.push(dataDir);
  const wrapped = [
    // The checkout (and the bun inside it) may itself live under /tmp: bound back over the private /tmp.
    "bwrap",
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--tmpfs",
    "/tmp",
    "--ro-bind",
    repo,
    repo,
    "--ro-bind",
    dirname(bun),
    dirname(bun),
    "--bind",
    dataDir,
    dataDir,
    "--unshare-user",
    "--uid",
    "1000",
    "--gid",
    "1000",
    "--disable-userns",
    "--unshare-pid",
    "--die-with-parent",
    "--",
    bun,
    join(repo, "core/main.ts"),
    ...args,
  ];
  const proc = Bun.spawn(wrapped, {
    env: { PATH: "/usr/bin:/bin", HOME: "/tmp", HOST: "127.0.0.1", PORT: "0", BAKERST_DATA_DIR: dataDir, AUTH_TOKEN: TOKEN, LOG_LEVEL: "info", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const pump = Promise.all(
    [proc.stdout, proc.stderr].map(async (s) => {
      const dec = new TextDecoder();
      for await (const chunk of s) out += dec.decode(chunk, { stream: true });
    }),
  );
  return { proc, output: () => out, done: pump };
}

async function serveWithoutUserNamespaces(env: Record<string, string> = {}) {
  const run = withoutUserNamespaces(["serve"], env);
  const url = await waitFor("bakerst listening", () => /"msg":"bakerst listening","url":"(http:\/\/[^"]+)"/.exec(run.output())?.[1], 20_000, 25);
  const api = async (path: string, body?: unknown) =>
    (
      await fetch(`${url}${path}`, {
        method: body ? "POST" : "GET",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        ...(body ? { body: JSON.stringify(body) } : {}),
      })
    ).json();
  return {
    api,
    output: run.output,
    async stop() {
      run.proc.kill("SIGTERM");
      await run.proc.exited;
      await run.done;
    },
  };
}

describe("Sandbox health", () => {
  test("where it works: health and doctor show it ok, as whom commands run", async () => {
    const h = await makeApp();
    try {
      const health = await (await h.request("/api/system/health")).json();
      expect(health.components.sandbox).toMatchObject({ status: "ok", detail: expect.stringContaining("commands run as uid") });
      const out = formatChecks(await runDoctor(testConfig(), AREAS));
      expect(out).toMatch(/✓ sandbox: bubblewrap [0-9.]+: commands run as uid \d+/);
    } finally {
      await h.close();
    }
  }, 20_000);

  test("without user namespaces, bakerst doctor shows ✗ sandbox with the fix", async () => {
    const run = withoutUserNamespaces(["doctor"], {});
    expect(await run.proc.exited).toBe(1);
    await run.done;
    expect(run.output()).toContain("✗ sandbox: a trial sandbox failed: bwrap: Creating new namespace failed");
    expect(run.output()).toMatch(/fix: user namespaces are not available to this user: .* or set COMMAND_SANDBOX=off/);
  }, 30_000);

  test("without user namespaces, start-up logs it, health is degraded with the fix, and command jobs are refused", async () => {
    const s = await serveWithoutUserNamespaces();
    try {
      expect(s.output()).toContain("the command sandbox does not work here; command jobs will be refused");
      const health = await s.api("/api/system/health");
      expect(health.components.sandbox.status).toBe("degraded");
      expect(health.components.sandbox.detail).toContain("command jobs are refused");
      expect(health.components.sandbox.fix).toContain("COMMAND_SANDBOX=off");
      const job = await s.api("/api/jobs?wait=10000", { type: "command", command: "date -u" });
      expect(job.status).toBe("failed");
      expect(job.error.code).toBe("refused");
      expect(job.error.message).toContain("command jobs run only in the sandbox, which does not work here");
      expect(job.result).toBeUndefined();
    } finally {
      await s.stop();
    }
  }, 40_000);

  test("COMMAND_SANDBOX=off is an explicit opt-out: commands run unsandboxed and health says so", async () => {
    const s = await serveWithoutUserNamespaces({ COMMAND_SANDBOX: "off" });
    try {
      expect(s.output()).toContain("COMMAND_SANDBOX=off: command jobs run without a sandbox");
      const health = await s.api("/api/system/health");
      expect(health.components.sandbox).toMatchObject({ status: "disabled", detail: expect.stringContaining("COMMAND_SANDBOX=off") });
      const job = await s.api("/api/jobs?wait=10000", { type: "command", command: "date -u" });
      expect(job.status).toBe("completed");
      expect(job.result.stdout).toContain("UTC");
    } finally {
      await s.stop();
    }
  }, 40_000);

  test("where the sandbox works, COMMAND_SANDBOX=off still runs commands outside it: the owner's choice is what happens", async () => {
    const ls = async (env: Record<string, string>) => {
      const h = await makeApp({ COMMAND_ALLOWLIST: "ls", ...env });
      try {
        const res = await h.request("/api/jobs?wait=10000", { method: "POST", json: { type: "command", argv: ["ls", h.dataDir] } });
        return { job: await res.json(), health: (await (await h.request("/api/system/health")).json()).components.sandbox };
      } finally {
        await h.close();
      }
    };
    const sandboxed = await ls({});
    expect(sandboxed.health.status).toBe("ok");
    expect(sandboxed.job.status).toBe("failed");
    expect(sandboxed.job.result.stdout).not.toContain("bakerst.db");
    const off = await ls({ COMMAND_SANDBOX: "off" });
    expect(off.health.status).toBe("disabled");
    expect(off.job.status).toBe("completed");
    expect(off.job.result.stdout).toContain("bakerst.db");
  }, 30_000);

  test("COMMAND_SANDBOX takes required or off, nothing else", () => {
    expect(() => testConfig({ COMMAND_SANDBOX: "maybe" })).toThrow("config COMMAND_SANDBOX (environment): expected one of required, off");
  });
});
