import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeApp, tempDir } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import { createTask, endedTask, type MountArea, mountArea, processesWith, runnerBinary, uniqueSleep } from "../helpers/tasks.ts";

/**
 * A task's script trying to get out of the local sandbox. Each test asserts
 * what the script saw AND that the host side was untouched. The script runs
 * as the sandbox's user (nobody when bakerst is root), with a shell and the
 * system's programs: the boundary is the sandbox, not what the script may say.
 */
const CANARY = "escape-canary-7f3e9a1c5b2d4e6f8a0b1c2d3e4f5a6b";
let area: MountArea;
let h: Awaited<ReturnType<typeof makeApp>>;
let holder: ReturnType<typeof Bun.spawn>;

beforeAll(async () => {
  area = mountArea();
  // A secret in the core's own environment and a host process that holds one: neither may show.
  process.env.BAKERST_ESCAPE_CANARY = CANARY;
  holder = Bun.spawn(["sleep", "600"], { env: { PATH: "/usr/bin:/bin", HOLDS: CANARY } });
  const dataDir = tempDir();
  writeFileSync(join(dataDir, "bakerst.json"), JSON.stringify({ tasks: { limits: { fileSizeMiB: 8, processes: 96 } } }));
  h = await makeApp({ TASK_ALLOWED_PATHS: area.root, TASK_RUNNER: await runnerBinary(), TASK_PREAPPROVED: `write:${area.rw}` }, { dataDir });
});
afterAll(async () => {
  delete process.env.BAKERST_ESCAPE_CANARY;
  holder.kill();
  await h.close();
});

const run = async (script: string, extra: Record<string, unknown> = {}) => endedTask(h.request, (await createTask(h.request, { mode: "script", script, ...extra })).id, 60_000);

describe("Escape attempts from a local task", () => {
  test("read the data dir or the token: not there, and no secret anywhere the task can look", async () => {
    const done = await run(
      [
        `ls -la ${h.dataDir} 2>&1 | head -3`,
        "env",
        "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'",
        "cat /proc/1/cmdline 2>/dev/null | tr '\\0' ' '; echo",
        "grep -rsl escape-canary /tmp /opt /run /etc /dev 2>/dev/null | head -5",
        "echo END",
      ].join("; "),
      { timeoutMs: 30_000 },
    );
    expect(done.output).toContain("No such file or directory");
    expect(done.output).toContain("END");
    expect(done.output).not.toContain(CANARY);
    expect(done.output).not.toContain("bakerst.db");
  }, 60_000);

  test("see host processes: only the sandbox's own, and no other process's /proc", async () => {
    const done = await run(`ps -e -o pid=,args=; ls /proc | grep -c '^[0-9]'; cat /proc/${holder.pid}/environ; cat /proc/${process.pid}/cmdline; echo END`);
    expect(done.output).toContain("END");
    expect(done.output).not.toContain("sleep 600");
    expect(done.output).not.toContain(CANARY);
    const count = Number(done.output.split("\n").find((l: string) => /^\d+$/.test(l.trim())));
    // bwrap's init, the runner, the shell, ps/ls and grep: a handful, never the host's hundreds.
    expect(count).toBeLessThan(10);
  }, 60_000);

  test("a fork bomb stays inside its process limit, the host goes on spawning, and nothing is left when the task ends", async () => {
    const marker = `bomb${uniqueSleep().replace(".", "")}`;
    // bash retries a failed fork, so the bomb presses against whatever ceiling it meets.
    // No timeout race on a loaded machine: the task runs until the bomb has pressed against its ceiling, then it is cancelled.
    const task = await createTask(h.request, { mode: "script", script: `bash -c '${marker}(){ ${marker} | ${marker} & }; ${marker}'; sleep 30`, timeoutMs: 60_000 });
    let peak = 0;
    const pressed = async () => {
      const t = (await (await h.request(`/api/tasks/${task.id}`)).json()) as { output: string };
      return /fork: retry: Resource temporarily unavailable|Cannot fork/.test(t.output);
    };
    // The ceiling is per uid: other sandboxes of the same user on this host take from it too, so the bomb may meet it below 40.
    await waitFor("the bomb to go off", async () => processesWith(marker).length > 40 || (await pressed()), 30_000, 5);
    const until = Date.now() + 300;
    while (Date.now() < until) {
      peak = Math.max(peak, processesWith(marker).length);
      // The host keeps working: a process starts and ends.
      expect(Bun.spawnSync(["true"]).exitCode).toBe(0);
    }
    expect(peak).toBeLessThanOrEqual(96);
    await waitFor("the bomb to meet its ceiling", pressed, 30_000);
    expect((await h.request(`/api/tasks/${task.id}`, { method: "DELETE" })).status).toBe(200);
    const done = await endedTask(h.request, task.id, 30_000);
    expect(done.status).toBe("cancelled");
    await waitFor("every process of the bomb to be gone", () => processesWith(marker).length === 0, 15_000);
  }, 60_000);

  test("fill the disk: /tmp stops at its size, a writable mount at the file size limit, and the host keeps the rest", async () => {
    const fill = "for i in $(seq 1 12); do head -c 7M /dev/zero > /tmp/fill$i || break; done; du -sm /tmp";
    const done = await run(`${fill}; head -c 100M /dev/zero > ${area.rw}/big; echo END`, { mounts: [{ path: area.rw, writable: true }] });
    expect(done.output).toMatch(/No space left on device/);
    expect(done.output).toContain("END");
    // 64 MiB of tmpfs; du rounds a partly used MiB up.
    expect(Number(/^(\d+)\s+\/tmp$/m.exec(done.output)?.[1])).toBeLessThanOrEqual(65);
    expect(existsSync("/tmp/fill1")).toBe(false);
    expect(statSync(join(area.rw, "big")).size).toBeLessThanOrEqual(8 * 1024 * 1024);
  }, 60_000);

  test("outlive the timeout: a script that ignores SIGTERM and daemonizes is gone when the task ends timed_out", async () => {
    const marker = uniqueSleep();
    const task = await createTask(h.request, { mode: "script", script: `trap '' TERM HUP; (setsid nohup sleep ${marker} >/dev/null 2>&1 &); sleep ${marker}`, timeoutMs: 1_000 });
    await waitFor("both sleeps", () => processesWith(marker).length >= 2, 20_000);
    const done = await endedTask(h.request, task.id);
    expect(done.status).toBe("timed_out");
    await waitFor("the daemon to be gone", () => processesWith(marker).length === 0, 15_000);
  }, 60_000);

  test("mounts cannot lead out: a symlink out of the allowed paths, a path with .., the data dir, and any mount while TASK_ALLOWED_PATHS is unset are refused", async () => {
    const link = join(area.root, "to-outside");
    if (!existsSync(link)) symlinkSync(area.outside, link);
    const toData = join(area.root, "to-data");
    if (!existsSync(toData)) symlinkSync(h.dataDir, toData);
    const nested = join(area.root, "holder");
    mkdirSync(nested, { recursive: true });
    for (const [mount, why] of [
      [link, "not under TASK_ALLOWED_PATHS"],
      [`${area.ro}/../../outside`, '".."'],
      [toData, "not under TASK_ALLOWED_PATHS"],
      [h.dataDir, "not under TASK_ALLOWED_PATHS"],
      ["/etc", "not under TASK_ALLOWED_PATHS"],
      ["relative/path", "absolute"],
      [join(area.root, "missing"), "does not exist"],
    ] as const) {
      const res = await h.request("/api/tasks", { method: "POST", json: { mode: "script", script: "ls", mounts: [mount] } });
      const body = await res.json();
      expect(res.status, mount).toBe(400);
      expect(body.error.code).toBe("invalid_task");
      expect(body.error.message).toContain(why);
    }
    const bare = await makeApp({ TASK_RUNNER: await runnerBinary() });
    try {
      const res = await bare.request("/api/tasks", { method: "POST", json: { mode: "script", script: "ls", mounts: [area.ro] } });
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toContain("TASK_ALLOWED_PATHS is not set");
    } finally {
      await bare.close();
    }
  }, 60_000);

  test("the allowed paths may not hold the data dir: a mount of a parent of it is refused", async () => {
    const parent = tempDir("bakerst-parent-");
    const dataDir = join(parent, "data");
    mkdirSync(dataDir);
    const inner = await makeApp({ TASK_ALLOWED_PATHS: parent, TASK_RUNNER: await runnerBinary() }, { dataDir });
    try {
      const res = await inner.request("/api/tasks", { method: "POST", json: { mode: "script", script: "ls", mounts: [parent] } });
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toContain("data dir");
    } finally {
      await inner.close();
    }
  }, 60_000);
});
