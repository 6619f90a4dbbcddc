import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { AREAS } from "../../core/areas.ts";
import { runDoctor } from "../../core/cli/doctor.ts";
import { TaskStore } from "../../core/tasks/store.ts";
import { makeApp, TOKEN, testConfig } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import { createTask, endedTask, type MountArea, mountArea, processesWith, runnerBinary, taskEvents, uniqueSleep } from "../helpers/tasks.ts";

let area: MountArea;
let h: Awaited<ReturnType<typeof makeApp>>;

beforeAll(async () => {
  area = mountArea();
  h = await makeApp({ TASK_ALLOWED_PATHS: area.root, TASK_RUNNER: await runnerBinary(), TASK_PREAPPROVED: `write:${area.rw}/pre` });
});
afterAll(() => h.close());

const post = (json: unknown) => h.request("/api/tasks", { method: "POST", json });
const auditRows = (target?: string) => {
  h.s.audit.flush();
  return (
    h.s.store.sqlite
      .query(`SELECT action, outcome, actor, detail FROM audit_log WHERE action LIKE 'task.%' ${target ? "AND target = ?" : ""} ORDER BY id`)
      .all(...(target ? [target] : [])) as {
      action: string;
      outcome: string;
      actor: string;
      detail: string;
    }[]
  ).map((r) => ({ ...r, detail: JSON.parse(r.detail ?? "null") }));
};

describe("POST /api/tasks: what is refused at the door", () => {
  test("a bad body answers 400 invalid_task naming the field, and nothing is kept", async () => {
    const before = h.s.store.sqlite.query("SELECT count(*) AS n FROM tasks").get() as { n: number };
    for (const [body, field] of [
      [{}, "mode"],
      [{ mode: "shell", script: "ls" }, "mode"],
      [{ mode: "script" }, "script"],
      [{ mode: "script", script: "ls", goal: "x" }, "script"],
      [{ mode: "agent", goal: "x", script: "ls" }, "goal"],
      [{ mode: "script", script: "   " }, "script"],
      [{ mode: "script", script: "x".repeat(70_000) }, "script"],
      [{ mode: "script", script: "ls", timeoutMs: 10 }, "timeoutMs"],
      [{ mode: "script", script: "ls", target: "companion-nas" }, "target"],
      [{ mode: "script", script: "ls", tokenBudget: 1000 }, "tokenBudget"],
      [{ mode: "script", script: "ls", extra: 1 }, "extra"],
      [{ mode: "script", script: "ls", toolbox: "nope" }, "toolbox"],
      [{ mode: "script", script: "ls", mounts: "/tmp" }, "mounts"],
    ] as const) {
      const res = await post(body);
      const json = await res.json();
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(json.error.code).toBe("invalid_task");
      expect(json.error.message).toContain(field);
    }
    expect(h.s.store.sqlite.query("SELECT count(*) AS n FROM tasks").get()).toEqual(before);
    expect(auditRows().filter((r) => r.action === "task.requested" && r.outcome === "refused").length).toBeGreaterThanOrEqual(13);
  });

  test("the kubernetes target without configuration answers 503 target_unavailable saying what to set", async () => {
    const res = await post({ mode: "script", script: "ls", target: "kubernetes" });
    expect(res.status).toBe(503);
    expect((await res.json()).error).toMatchObject({ code: "target_unavailable", message: expect.stringContaining("TASK_KUBECONFIG") });
  });
});

describe("Tasks: reading them", () => {
  test("GET lists newest first with a status filter and a cursor; GET :id of an unknown task is 404", async () => {
    const a = await createTask(h.request, { mode: "script", script: "echo a" });
    const b = await createTask(h.request, { mode: "script", script: "exit 1" });
    await endedTask(h.request, a.id);
    await endedTask(h.request, b.id);
    const list = await (await h.request("/api/tasks?limit=2")).json();
    expect(list.tasks.map((t: { id: string }) => t.id)).toEqual([b.id, a.id]);
    expect(list.next).toBe(a.createdAt);
    const failed = await (await h.request("/api/tasks?status=failed")).json();
    expect(failed.tasks.every((t: { status: string }) => t.status === "failed")).toBe(true);
    expect(failed.tasks.some((t: { id: string }) => t.id === b.id)).toBe(true);
    expect((await h.request("/api/tasks/nope")).status).toBe(404);
    expect((await h.request("/api/tasks/nope/events")).status).toBe(404);
  }, 30_000);

  test("the event stream resumes after Last-Event-ID with exactly the events after it", async () => {
    const task = await createTask(h.request, { mode: "script", script: "echo one; echo two >&2; echo three" });
    const all = await taskEvents(h.request, task.id);
    const cut = Number(all[2]!.id);
    const res = await h.request(`/api/tasks/${task.id}/events`, { headers: { "last-event-id": String(cut) } });
    const { parseSse } = await import("../helpers/app.ts");
    const rest = parseSse(await res.text());
    expect(rest.map((e) => e.id)).toEqual(all.slice(3).map((e) => e.id));
    expect(rest.at(-1)!.event).toBe("status");
  }, 30_000);

  test("secrets the core holds are redacted from a task's output, even when the owner mounted a file holding one", async () => {
    writeFileSync(join(area.ro, "leak.txt"), `token=${TOKEN}\nkey=sk-ant-api03-${"a".repeat(40)}\n`);
    const task = await createTask(h.request, { mode: "script", script: `cat ${area.ro}/leak.txt`, mounts: [area.ro] });
    const done = await endedTask(h.request, task.id);
    expect(done.output).not.toContain(TOKEN);
    expect(done.output).toContain("token=[REDACTED]");
    expect(done.output).toContain("[REDACTED:anthropic]");
    expect(JSON.stringify(await taskEvents(h.request, task.id))).not.toContain(TOKEN);
  }, 30_000);
});

describe("Tasks: approval", () => {
  test("read-only mounts run at once; a writable one waits, and only the owner's approve starts it; approving again is 409", async () => {
    const ro = await createTask(h.request, { mode: "script", script: "true", mounts: [area.ro] });
    expect(ro.approval).toBeUndefined();
    expect((await endedTask(h.request, ro.id)).status).toBe("succeeded");

    const rw = await createTask(h.request, { mode: "script", script: "echo ran", mounts: [{ path: area.rw, writable: true }] });
    expect(rw).toMatchObject({ status: "queued", approval: { state: "pending", scopes: [`write:${area.rw}`] } });
    const events = await (await h.request(`/api/tasks/${rw.id}`)).json();
    expect(events.status).toBe("queued");
    const ok = await h.request(`/api/tasks/${rw.id}/approve`, { method: "POST" });
    expect((await ok.json()).approval).toMatchObject({ state: "approved", by: "api" });
    expect((await endedTask(h.request, rw.id)).output).toBe("ran\n");
    const again = await h.request(`/api/tasks/${rw.id}/approve`, { method: "POST" });
    expect(again.status).toBe(409);
    expect((await again.json()).error.code).toBe("task_state");
    expect((await h.request(`/api/tasks/${ro.id}/approve`, { method: "POST" })).status).toBe(409);
    expect((await h.request("/api/tasks/nope/approve", { method: "POST" })).status).toBe(404);
    const rows = auditRows(rw.id).map((r) => [r.action, r.outcome, r.actor]);
    expect(rows).toEqual([
      ["task.requested", "ok", "api"],
      ["task.approved", "ok", "api"],
      ["task.finished", "ok", "system"],
    ]);
  }, 30_000);

  test("a scope the owner pre-approved runs without asking, and the log says who approved it", async () => {
    const { mkdirSync, chmodSync } = await import("node:fs");
    const pre = join(area.rw, "pre");
    mkdirSync(pre, { recursive: true });
    chmodSync(pre, 0o777);
    const task = await createTask(h.request, { mode: "script", script: `echo x > ${pre}/x`, mounts: [{ path: pre, writable: true }] });
    expect(task.approval.state).toBe("preapproved");
    expect((await endedTask(h.request, task.id)).status).toBe("succeeded");
    expect(auditRows(task.id).find((r) => r.action === "task.approved")).toMatchObject({ actor: "system", detail: { by: "TASK_PREAPPROVED" } });
  }, 30_000);

  test("cancelling a task that waits for approval ends it without it ever starting", async () => {
    const task = await createTask(h.request, { mode: "script", script: "echo never", mounts: [{ path: area.rw, writable: true }] });
    const res = await h.request(`/api/tasks/${task.id}`, { method: "DELETE" });
    expect((await res.json()).status).toBe("cancelled");
    const statuses = (await taskEvents(h.request, task.id)).filter((e) => e.event === "status").map((e) => e.data.status);
    expect(statuses).toEqual(["queued", "cancelled"]);
    expect(auditRows(task.id).map((r) => r.action)).toEqual(["task.requested", "task.cancelled"]);
  });
});

describe("Tasks: running them", () => {
  test("past TASK_CONCURRENCY tasks wait queued and start as slots free", async () => {
    const one = await makeApp({ TASK_RUNNER: await runnerBinary(), TASK_CONCURRENCY: "1" });
    try {
      const marker = uniqueSleep();
      const first = await createTask(one.request, { mode: "script", script: `sleep ${marker}`, timeoutMs: 60_000 });
      const second = await createTask(one.request, { mode: "script", script: "echo second" });
      expect(second.status).toBe("queued");
      await waitFor("the first to run", () => processesWith(marker).length > 0, 20_000);
      expect((await (await one.request(`/api/tasks/${second.id}`)).json()).status).toBe("queued");
      await one.request(`/api/tasks/${first.id}`, { method: "DELETE" });
      expect((await endedTask(one.request, second.id)).output).toBe("second\n");
    } finally {
      await one.close();
    }
  }, 60_000);

  test("shutting down stops running tasks (cancelled, nothing left); a task a crashed process left running is failed at the next start", async () => {
    const { tempDir } = await import("../helpers/app.ts");
    const dataDir = tempDir();
    const first = await makeApp({ TASK_RUNNER: await runnerBinary() }, { dataDir });
    const marker = uniqueSleep();
    const task = await createTask(first.request, { mode: "script", script: `sleep ${marker}` });
    await waitFor("the task to run", () => processesWith(marker).length > 0, 20_000);
    await first.close(false);
    expect(processesWith(marker)).toEqual([]);
    // What a crash would leave: a row still running.
    const second = await makeApp({ TASK_RUNNER: await runnerBinary() }, { dataDir });
    try {
      expect((await (await second.request(`/api/tasks/${task.id}`)).json()).status).toBe("cancelled");
      new TaskStore(second.s.store.db, second.s.store.sqlite).update(task.id, { status: "running", endedAt: null }, Date.now());
    } finally {
      await second.close(false);
    }
    const third = await makeApp({ TASK_RUNNER: await runnerBinary() }, { dataDir });
    try {
      const t = await (await third.request(`/api/tasks/${task.id}`)).json();
      expect(t).toMatchObject({ status: "failed", error: { code: "internal", message: "bakerst stopped while the task ran" } });
    } finally {
      await third.close();
    }
  }, 60_000);

  test("without a runner, local tasks are refused with the reason, and health and doctor say so", async () => {
    const env = { TASK_RUNNER: "/nonexistent/bakerst-satellite" };
    const broken = await makeApp(env);
    try {
      const res = await broken.request("/api/tasks", { method: "POST", json: { mode: "script", script: "ls" } });
      expect(res.status).toBe(503);
      expect((await res.json()).error.message).toContain("TASK_RUNNER /nonexistent/bakerst-satellite does not exist");
      const health = await (await broken.request("/api/system/health")).json();
      expect(health.components.tasks).toMatchObject({ status: "degraded", fix: expect.stringContaining("TASK_RUNNER") });
    } finally {
      await broken.close();
    }
    const checks = await runDoctor(testConfig(env), AREAS);
    expect(checks.find((c) => c.name === "tasks (local)")).toMatchObject({ ok: false, detail: expect.stringContaining("does not exist") });
  }, 30_000);
});
