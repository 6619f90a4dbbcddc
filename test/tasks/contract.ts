/**
 * One suite every TaskLauncher passes (the local sandbox, a Kubernetes Job),
 * driven through the API as an owner would: the same tasks, the same
 * answers. Each boundary test asserts what the task saw AND that nothing
 * happened on the host side.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../helpers/nats.ts";
import { createTask, endedTask, type MountArea, outputOf, processesWith, type Request, taskEvents, uniqueSleep } from "../helpers/tasks.ts";

export interface ContractHarness {
  request: Request;
  area: MountArea;
  dataDir: string;
  close(): Promise<void>;
}

export function taskContract(name: string, start: () => Promise<ContractHarness>): void {
  describe(`TaskLauncher contract: ${name}`, () => {
    let h: ContractHarness;
    let listener: ReturnType<typeof Bun.serve>;
    let hits = 0;
    beforeAll(async () => {
      h = await start();
      listener = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (hits++, new Response("reached")) });
    }, 120_000);
    afterAll(async () => {
      listener.stop(true);
      await h.close();
    });

    test("echo: the output arrives as progress and the task succeeds with exit code 0", async () => {
      const task = await createTask(h.request, { mode: "script", script: "echo hello from the task" });
      const events = await taskEvents(h.request, task.id);
      expect(outputOf(events, "stdout")).toBe("hello from the task\n");
      const statuses = events.filter((e) => e.event === "status").map((e) => e.data.status);
      expect(statuses).toEqual(["queued", "starting", "running", "succeeded"]);
      expect(events.find((e) => e.event === "result")!.data).toMatchObject({ status: "succeeded", exitCode: 0 });
      // Event ids count up from 1 without a gap: a client resumes from any of them.
      expect(events.map((e) => Number(e.id))).toEqual(events.map((_, i) => i + 1));
      const done = await endedTask(h.request, task.id);
      expect(done).toMatchObject({ status: "succeeded", exitCode: 0, output: "hello from the task\n" });
      expect(done.durationMs).toBeGreaterThanOrEqual(0);
    }, 60_000);

    test("long output: 20,000 lines arrive in order, none lost or repeated, stdout and stderr apart", async () => {
      const task = await createTask(h.request, { mode: "script", script: "seq 1 20000; echo on-stderr >&2" });
      const events = await taskEvents(h.request, task.id);
      const lines = outputOf(events, "stdout").trimEnd().split("\n");
      expect(lines.length).toBe(20_000);
      expect(lines.every((l, i) => l === String(i + 1))).toBe(true);
      expect(outputOf(events, "stderr")).toBe("on-stderr\n");
      expect((await endedTask(h.request, task.id)).status).toBe("succeeded");
    }, 60_000);

    test("non-zero exit: the task fails with exit_code and the script's code", async () => {
      const task = await createTask(h.request, { mode: "script", script: "echo about to fail; exit 7" });
      const done = await endedTask(h.request, task.id);
      expect(done).toMatchObject({ status: "failed", exitCode: 7, error: { code: "exit_code" } });
      expect(done.output).toBe("about to fail\n");
    }, 60_000);

    test("timeout: a task past its timeout ends timed_out and nothing it started is left running", async () => {
      const marker = uniqueSleep();
      const task = await createTask(h.request, { mode: "script", script: `echo started; sleep ${marker}`, timeoutMs: 1_500 });
      await waitFor("the sleep to run", () => processesWith(marker).length > 0, 20_000);
      const done = await endedTask(h.request, task.id);
      expect(done.status).toBe("timed_out");
      expect(done.error.code).toBe("timeout");
      expect(done.output).toBe("started\n");
      await waitFor("the task's processes to be gone", () => processesWith(marker).length === 0, 10_000);
    }, 60_000);

    test("cancel: a running task cancelled ends cancelled, and it and its children are gone", async () => {
      const marker = uniqueSleep();
      // It ignores SIGTERM and starts a child in its own session: the sandbox must take both anyway.
      const task = await createTask(h.request, { mode: "script", script: `trap '' TERM; setsid sleep ${marker} & echo ready; sleep ${marker}` });
      await waitFor("the task to run", async () => (await (await h.request(`/api/tasks/${task.id}`)).json()).output === "ready\n", 20_000);
      await waitFor("both sleeps", () => processesWith(marker).length >= 2, 10_000);
      const res = await h.request(`/api/tasks/${task.id}`, { method: "DELETE" });
      expect(res.status).toBe(200);
      const done = await endedTask(h.request, task.id);
      expect(done.status).toBe("cancelled");
      await waitFor("every process of the task to be gone", () => processesWith(marker).length === 0, 15_000);
      const again = await h.request(`/api/tasks/${task.id}`, { method: "DELETE" });
      expect(again.status).toBe(409);
      expect((await again.json()).error.code).toBe("task_state");
    }, 60_000);

    test("write outside a mount: the read-only mount, the root and other host paths refuse it, and nothing lands on the host", async () => {
      const script = [
        `echo x > ${h.area.ro}/new.txt && echo WROTE-RO`,
        `echo x > ${h.area.outside}/new.txt && echo WROTE-OUTSIDE`,
        "echo x > /escape.txt && echo WROTE-ROOT",
        "echo x > /usr/escape.txt && echo WROTE-USR",
        `cat ${h.area.outside}/secret.txt`,
        `cat ${h.area.ro}/file.txt`,
      ].join("; ");
      const task = await createTask(h.request, { mode: "script", script, mounts: [h.area.ro] });
      const done = await endedTask(h.request, task.id);
      expect(done.output).toContain("read me");
      expect(done.output).not.toMatch(/WROTE|outside\n/);
      expect(existsSync(join(h.area.ro, "new.txt"))).toBe(false);
      expect(existsSync(join(h.area.outside, "new.txt"))).toBe(false);
      expect(existsSync("/escape.txt")).toBe(false);
    }, 60_000);

    test("a writable mount, once approved, takes the write; the host sees the file", async () => {
      const task = await createTask(h.request, { mode: "script", script: `echo written > ${h.area.rw}/out.txt`, mounts: [{ path: h.area.rw, writable: true }] });
      expect(task.approval.state).toBe("pending");
      expect(task.status).toBe("queued");
      await h.request(`/api/tasks/${task.id}/approve`, { method: "POST" });
      expect((await endedTask(h.request, task.id)).status).toBe("succeeded");
      expect(readFileSync(join(h.area.rw, "out.txt"), "utf8")).toBe("written\n");
    }, 60_000);

    test("read the data dir: the task cannot see it, and cannot mount it", async () => {
      const token = join(h.dataDir, "bakerst.db");
      const task = await createTask(h.request, { mode: "script", script: `ls ${h.dataDir} || echo NO-DATA-DIR; cat ${token} | head -c 16 || true` });
      const done = await endedTask(h.request, task.id);
      expect(done.output).toContain("NO-DATA-DIR");
      expect(done.output).not.toContain("SQLite format");
      const refused = await h.request("/api/tasks", { method: "POST", json: { mode: "script", script: "ls", mounts: [h.dataDir] } });
      expect(refused.status).toBe(400);
      expect((await refused.json()).error.code).toBe("invalid_task");
    }, 60_000);

    test("reach the network with none: a loopback listener on the host stays silent", async () => {
      const before = hits;
      const task = await createTask(h.request, {
        mode: "script",
        script: `bash -c 'echo -e "GET / HTTP/1.0\\r\\n\\r\\n" > /dev/tcp/127.0.0.1/${listener.port}' && echo CONNECTED; curl -sS -m 3 http://127.0.0.1:${listener.port}/ && echo CURLED; echo done`,
      });
      const done = await endedTask(h.request, task.id);
      expect(done.output).toContain("done");
      expect(done.output).not.toMatch(/CONNECTED|CURLED|reached/);
      expect(hits).toBe(before);
    }, 60_000);
  });
}
