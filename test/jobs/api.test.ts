import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { makeApp, tempDir } from "../helpers/app.ts";
import { dataDirWithCommands } from "../helpers/grammars.ts";
import { waitFor } from "../helpers/nats.ts";

let h: Awaited<ReturnType<typeof makeApp>>;
beforeAll(async () => {
  h = await makeApp({ COMMAND_ALLOWLIST: "date,uname,sleep,false" }, { dataDir: dataDirWithCommands() });
});
afterAll(async () => {
  await h.close();
});

const post = (json: unknown, init: { headers?: Record<string, string>; wait?: number } = {}) =>
  h.request(`/api/jobs${init.wait ? `?wait=${init.wait}` : ""}`, { method: "POST", json, headers: init.headers });

describe("POST /api/jobs", () => {
  test("a command job runs on the edge worker and GET shows it completed with its output", async () => {
    const res = await post({ type: "command", command: "date -u" });
    expect(res.status).toBe(202);
    const { id, status } = await res.json();
    expect(status).toBe("queued");
    const job = await waitFor("completed", async () => {
      const j = await (await h.request(`/api/jobs/${id}`)).json();
      return j.status === "completed" ? j : undefined;
    });
    expect(job.type).toBe("command");
    expect(job.result.exitCode).toBe(0);
    expect(job.result.stdout).toMatch(/UTC \d{4}/);
    expect(typeof job.createdAt).toBe("number");
    expect(job.updatedAt).toBeGreaterThanOrEqual(job.createdAt);
    expect(job.history.map((s: { status: string }) => s.status)).toEqual(["received", "running", "completed"]);
  }, 15_000);

  test("argv form and ?wait= answer with the finished job", async () => {
    const res = await post({ type: "command", argv: ["uname", "-s"] }, { wait: 5_000 });
    const job = await res.json();
    expect(job.status).toBe("completed");
    expect(job.result.stdout.trim()).toBe("Linux");
  }, 15_000);

  test("a failing command ends failed with exit_code and keeps its output", async () => {
    const job = await (await post({ type: "command", command: "false" }, { wait: 5_000 })).json();
    expect(job.status).toBe("failed");
    expect(job.error.code).toBe("exit_code");
    expect(job.error.message).toContain("false exited with 1");
    expect(job.result.exitCode).toBe(1);
  }, 15_000);

  test("a command past its timeout is killed and fails with timeout", async () => {
    const started = Date.now();
    const job = await (await post({ type: "command", command: "sleep 20", timeoutMs: 300 }, { wait: 5_000 })).json();
    expect(job.status).toBe("failed");
    expect(job.error.code).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 15_000);

  test("the same Idempotency-Key returns the same job and runs it once", async () => {
    const key = { "idempotency-key": "retry-abc-1" };
    const a = await (await post({ type: "command", command: "date" }, { headers: key })).json();
    const res = await post({ type: "command", command: "date" }, { headers: key });
    expect(res.status).toBe(200);
    const b = await res.json();
    expect(b.id).toBe(a.id);
    await waitFor("done", async () => (await (await h.request(`/api/jobs/${a.id}`)).json()).status === "completed");
    const job = await (await h.request(`/api/jobs/${a.id}`)).json();
    expect(job.history.filter((s: { status: string }) => s.status === "completed")).toHaveLength(1);
    const list = await (await h.request("/api/jobs?limit=200")).json();
    expect(list.jobs.filter((j: { id: string }) => j.id === a.id)).toHaveLength(1);
  }, 15_000);

  test("a job keeps the trace id of the request that dispatched it", async () => {
    const res = await post({ type: "command", command: "uname" }, { headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });
    expect(res.headers.get("x-trace-id")).toBe("0af7651916cd43dd8448eb211c80319c");
    const { id } = await res.json();
    const job = await (await h.request(`/api/jobs/${id}`)).json();
    expect(job.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
  });

  test("bad bodies are refused with 400 naming the field", async () => {
    const cases: [unknown, RegExp][] = [
      [{ type: "nope" }, /^type: unknown job type "nope"/],
      [{}, /^type: missing/],
      [{ type: "http" }, /url/],
      [{ type: "http", url: "http://x", method: "TRACE" }, /method/],
      [{ type: "command" }, /exactly one of "command"/],
      [{ type: "command", command: "date", argv: ["date"] }, /exactly one of/],
      [{ type: "agent", prompt: "" }, /prompt/],
      [{ type: "command", command: "date", timeoutMs: 5 }, /timeoutMs/],
    ];
    for (const [body, message] of cases) {
      const res = await post(body);
      expect(res.status).toBe(400);
      const err = (await res.json()).error;
      expect(err.code).toBe("invalid_job");
      expect(err.message).toMatch(message);
    }
  }, 15_000);
});

describe("GET /api/jobs", () => {
  test("lists newest first, filters by status and type, and 404s an unknown id", async () => {
    const list = await (await h.request("/api/jobs?status=completed&type=command&limit=2")).json();
    expect(list.jobs.length).toBe(2);
    expect(list.jobs.every((j: { status: string; type: string }) => j.status === "completed" && j.type === "command")).toBe(true);
    expect(list.jobs[0].createdAt).toBeGreaterThanOrEqual(list.jobs[1].createdAt);
    expect(list.next).toBe(list.jobs[1].createdAt);
    const missing = await h.request("/api/jobs/does-not-exist");
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe("not_found");
  }, 15_000);

  test("jobs need the API token", async () => {
    expect((await h.request("/api/jobs", { auth: false })).status).toBe(401);
  }, 15_000);
});

describe("Jobs in edge mode", () => {
  test("a job queued while no worker runs survives a restart and completes after it", async () => {
    const dataDir = tempDir();
    const first = await makeApp({ EDGE_WORKER: "false" }, { dataDir });
    const { id } = await (await first.request("/api/jobs", { method: "POST", json: { type: "command", command: "date" } })).json();
    await first.close(false);
    const second = await makeApp({}, { dataDir });
    try {
      const job = await waitFor("completed after restart", async () => {
        const j = await (await second.request(`/api/jobs/${id}`)).json();
        return j.status === "completed" ? j : undefined;
      });
      expect(job.result.exitCode).toBe(0);
    } finally {
      await second.close(false);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 15_000);

  test("the reaper fails a job nobody finished by its deadline, with the reason", async () => {
    const app = await makeApp({ EDGE_WORKER: "false", JOB_DEADLINE_GRACE_MS: "1000" });
    try {
      const { id } = await (await app.request("/api/jobs", { method: "POST", json: { type: "command", command: "date", timeoutMs: 100 } })).json();
      const job = await waitFor(
        "reaped",
        async () => {
          const j = await (await app.request(`/api/jobs/${id}`)).json();
          return j.status === "failed" ? j : undefined;
        },
        8_000,
      );
      expect(job.error.code).toBe("deadline");
      expect(job.error.message).toContain("last status was queued");
    } finally {
      await app.close();
    }
  }, 15_000);

  test("health shows the brain's and the edge worker's heartbeats and the bus", async () => {
    const health = await waitFor("worker heartbeat", async () => {
      const r = await (await h.request("/api/system/health")).json();
      return r.components.workers.status === "ok" && r.components.heartbeat.status === "ok" ? r : undefined;
    });
    expect(health.components.bus).toMatchObject({ status: "ok", kind: "local" });
    expect(health.components.workers.workers[0]).toMatchObject({ role: "worker", capacity: 4, alive: true });
    expect(health.components.heartbeat.id).toMatch(/^brain-/);
  }, 15_000);
});

describe("Jobs config", () => {
  test("a bad allowlist, grammar or host rule stops the start with the key named", async () => {
    const dataDir = tempDir();
    try {
      await expect(makeApp({ COMMAND_ALLOWLIST: "date,bash" }, { dataDir })).rejects.toThrow(
        "config COMMAND_ALLOWLIST (config): expected bash runs other programs and cannot be allowlisted",
      );
      await expect(makeApp({ HTTP_JOB_DENY: "10.0.0.0/99" }, { dataDir })).rejects.toThrow("HTTP_JOB_DENY");
      await expect(makeApp({ COMMAND_ALLOWLIST: "date,seq" }, { dataDir })).rejects.toThrow("config COMMAND_ALLOWLIST (config): expected seq has no grammar");
      dataDirWithCommands({ seq: { syntax: "gnu", operands: { max: 1, pattern: "([0-9]" } } }, dataDir);
      await expect(makeApp({}, { dataDir })).rejects.toThrow(`config commands.seq.operands.pattern (${dataDir}/bakerst.json): expected a valid regular expression`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("dispatch_job waiting", () => {
  test("gives up after JOB_WAIT_TIMEOUT_MS with the job still queued and says how to check later", async () => {
    const app = await makeApp({ EDGE_WORKER: "false", JOB_WAIT_TIMEOUT_MS: "300" });
    try {
      const seen: string[] = [];
      const ctx = { conversationId: "c1", turnId: "t1", origin: "web" as const, signal: new AbortController().signal, emit: (e: { status: string }) => seen.push(e.status) };
      const started = Date.now();
      const out = await app.s.tools.execute("dispatch_job", { type: "command", command: "date" }, ctx);
      // Timers may fire a millisecond early against Date.now; the point is that it waited, not returned at once.
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(out.ok).toBe(true);
      expect(out.content).toContain('"status": "queued"');
      expect(out.content).toContain("check again with get_job");
      expect(seen).toEqual(["queued"]);
      const bad = await app.s.tools.execute("dispatch_job", { type: "command", command: "date; reboot" }, ctx);
      expect(bad.ok).toBe(false);
      expect(bad.content).toContain("shell syntax is not allowed");
    } finally {
      await app.close();
    }
  }, 15_000);
});
