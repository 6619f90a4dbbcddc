import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeApp, readSse } from "../helpers/app.ts";
import { createTask, endedTask, type MountArea, mountArea, runnerBinary, taskEvents } from "../helpers/tasks.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, and, firstRound, prompt, reply } from "../standins/script.ts";

/**
 * Agent tasks: the worker model with the task's own tools, inside the
 * sandbox; its model calls go to the host over the relay, so they are the
 * core's router's (budget, usage, fallback) and no key enters the sandbox.
 */
let model: AnthropicStandIn;
let area: MountArea;
let h: Awaited<ReturnType<typeof makeApp>>;
const KEY = "sk-ant-api03-agent-task-key-0123456789abcdefghij";

beforeAll(async () => {
  model = startAnthropicStandIn();
  area = mountArea();
  writeFileSync(join(area.ro, "notes.md"), "The backup runs at 03:00.\n");
  h = await makeApp({
    ANTHROPIC_API_KEY: KEY,
    ANTHROPIC_BASE_URL: model.url,
    TASK_ALLOWED_PATHS: area.root,
    TASK_RUNNER: await runnerBinary(),
    TASK_PREAPPROVED: `write:${area.rw}`,
  });
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await h.close();
  await model.stop();
});

const toolsOffered = (i: number) => model.requests[i]!.body.tools?.map((t) => t.name).sort();

describe("Agent tasks", () => {
  test("work towards the goal with file tools inside their mounts, report tool calls as progress, and record usage as the worker's", async () => {
    const before = model.requests.length;
    model.on(
      and(prompt("When does the backup run?"), firstRound),
      reply()
        .tool("read_file", { path: `${area.ro}/notes.md` }, "tu_1")
        .stopReason("tool_use")
        .usage({ input: 200, output: 30 }),
    );
    model.on(afterTool("read_file"), reply().text("At 03:00.").usage({ input: 260, output: 10 }));
    const task = await createTask(h.request, { mode: "agent", goal: "When does the backup run?", mounts: [area.ro] });
    const done = await endedTask(h.request, task.id);
    expect(done).toMatchObject({ status: "succeeded", answer: "At 03:00.", usage: { inputTokens: 460, outputTokens: 40, recorded: true } });
    expect(toolsOffered(before)).toEqual(["list_files", "read_file"]);
    expect(JSON.stringify(model.requests[before + 1]!.body.messages.at(-1))).toContain("The backup runs at 03:00.");
    const tools = (await taskEvents(h.request, task.id)).filter((e) => e.event === "progress" && e.data.kind === "tool").map((e) => e.data);
    expect(tools[0]).toMatchObject({ name: "read_file", text: expect.stringContaining("notes.md") });
    expect(tools[1]).toMatchObject({ name: "read_file", ok: true });
    h.s.models.ledger.flush();
    const rows = h.s.store.sqlite.query("SELECT role, origin, input_tokens AS i FROM usage ORDER BY id DESC LIMIT 2").all();
    expect(rows).toEqual([
      { role: "worker", origin: "task", i: 260 },
      { role: "worker", origin: "task", i: 200 },
    ]);
  }, 60_000);

  test("write only inside a writable mount: outside it and in a read-only one the tool refuses, and the host is untouched", async () => {
    const out = join(area.rw, "agent");
    mkdirSync(out, { recursive: true });
    chmodSync(out, 0o777);
    model.on(
      and(prompt("Write the report"), firstRound),
      reply()
        .tool("write_file", { path: `${out}/report.txt`, content: "all good" }, "w1")
        .tool("write_file", { path: `${area.ro}/report.txt`, content: "nope" }, "w2")
        .tool("write_file", { path: `${out}/../../outside.txt`, content: "nope" }, "w3")
        .tool("read_file", { path: "/etc/passwd" }, "r1")
        .stopReason("tool_use"),
    );
    model.on(afterTool("write_file"), reply().text("Wrote it."));
    const task = await createTask(h.request, { mode: "agent", goal: "Write the report", mounts: [area.ro, { path: out, writable: true }] });
    const done = await endedTask(h.request, task.id);
    expect(done.status).toBe("succeeded");
    expect(readFileSync(join(out, "report.txt"), "utf8")).toBe("all good");
    const results = JSON.stringify(model.requests.at(-1)!.body.messages.at(-1));
    expect(results).toContain("mounted read-only");
    expect(results).toContain("outside the task's mounts");
    expect((await import("node:fs")).existsSync(join(area.root, "outside.txt"))).toBe(false);
  }, 60_000);

  test("with hosts on its list the agent's http_request goes through the egress proxy: the listed host answers, another is refused", async () => {
    let hits = 0;
    let other = 0;
    const listed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (hits++, new Response("status: green")) });
    const unlisted = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (other++, new Response("nope")) });
    try {
      model.on(
        and(prompt("Is the service green?"), firstRound),
        reply()
          .tool("http_request", { url: `http://localhost:${listed.port}/health` }, "h1")
          .tool("http_request", { url: `http://localhost:${unlisted.port}/` }, "h2")
          .stopReason("tool_use"),
      );
      model.on(afterTool("http_request"), reply().text("It is green."));
      const task = await createTask(h.request, { mode: "agent", goal: "Is the service green?", network: [`localhost:${listed.port}`] });
      await h.request(`/api/tasks/${task.id}/approve`, { method: "POST" });
      const done = await endedTask(h.request, task.id);
      expect(done).toMatchObject({ status: "succeeded", answer: "It is green." });
      const results = JSON.stringify(model.requests.at(-1)!.body.messages.at(-1));
      expect(results).toContain("HTTP 200");
      expect(results).toContain("status: green");
      expect(results).toContain("HTTP 403");
      expect(results).toContain("not on the task's network allowlist");
      expect({ hits, other }).toEqual({ hits: 1, other: 0 });
    } finally {
      listed.stop(true);
      unlisted.stop(true);
    }
  }, 60_000);

  test("the task's token budget is held on the host: the loop stops with what it has", async () => {
    const before = model.requests.length;
    model.on(prompt("loop"), reply().text("partial").tool("list_files", { path: area.ro }, "l1").stopReason("tool_use").usage({ input: 250, output: 60 }));
    const task = await createTask(h.request, { mode: "agent", goal: "loop", tokenBudget: 300, mounts: [area.ro] });
    const done = await endedTask(h.request, task.id);
    expect(done).toMatchObject({ status: "succeeded", answer: "partial" });
    expect(model.requests.length - before).toBe(1);
    expect(model.requests[before]!.body.max_tokens).toBeLessThanOrEqual(300);
  }, 60_000);

  test("no key enters the sandbox: the runner's environment has none, and the model's requests carry the core's", async () => {
    model.on(prompt("env?"), reply().text("ok"));
    const task = await createTask(h.request, { mode: "agent", goal: "env?" });
    await endedTask(h.request, task.id);
    const spec = h.s.store.sqlite.query("SELECT request FROM tasks WHERE id = ?").get(task.id) as { request: string };
    expect(spec.request).not.toContain(KEY);
    expect(model.requests.at(-1)!.headers["x-api-key"] ?? model.requests.at(-1)!.headers.authorization).toContain(KEY);
  }, 60_000);

  test("past the daily budget an agent task is refused with 402 and the refusal is in the audit log; script tasks still run", async () => {
    const broke = await makeApp({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: model.url, DAILY_BUDGET_USD: "0.01", TASK_RUNNER: await runnerBinary() });
    try {
      model.on(prompt("spend"), reply().text("expensive").usage({ input: 10_000, output: 0 }));
      await broke.s.brain.start({ message: "spend", origin: "api" }).done;
      const res = await broke.request("/api/tasks", { method: "POST", json: { mode: "agent", goal: "anything" } });
      expect(res.status).toBe(402);
      expect((await res.json()).error.code).toBe("budget_exceeded");
      broke.s.audit.flush();
      const row = broke.s.store.sqlite.query("SELECT outcome, detail FROM audit_log WHERE action = 'task.requested'").get() as { outcome: string; detail: string };
      expect(row.outcome).toBe("refused");
      expect(JSON.parse(row.detail).code).toBe("budget_exceeded");
      const script = await createTask(broke.request, { mode: "script", script: "echo fine" });
      expect((await endedTask(broke.request, script.id)).output).toBe("fine\n");
    } finally {
      await broke.close();
    }
  }, 60_000);
});

describe("run_task in chat", () => {
  test("the stream carries task events as it moves, and the model gets the output", async () => {
    model.on(and(prompt("how full is the disk?"), firstRound), reply().tool("run_task", { mode: "script", script: "echo 42% used" }, "t1").stopReason("tool_use"));
    model.on(afterTool("run_task"), reply().text("42% used."));
    const events = await readSse(await h.request("/api/chat/stream", { method: "POST", json: { message: "how full is the disk?" } }));
    const tasks = events.filter((e) => e.event === "task").map((e) => e.data);
    expect(new Set(tasks.map((t) => t.id)).size).toBe(1);
    expect(tasks.at(-1).status).toBe("succeeded");
    expect(JSON.stringify(model.requests.at(-1)!.body.messages.at(-1))).toContain("42% used");
    const got = await h.s.tools.execute(
      "get_task",
      { id: tasks[0].id },
      { conversationId: "c", turnId: "t", origin: "web" as const, signal: new AbortController().signal, emit: () => {} },
    );
    expect(got.content).toContain('"status": "succeeded"');
  }, 60_000);

  test("the agent cannot approve its own task: one that asks for a writable mount waits for the owner whatever it calls", async () => {
    const rwOther = join(area.root, "rw-other");
    mkdirSync(rwOther, { recursive: true });
    model.on(
      and(prompt("clean up"), firstRound),
      reply()
        .tool("run_task", { mode: "script", script: `rm -rf ${rwOther}/*`, mounts: [{ path: rwOther, writable: true }] }, "t2")
        .stopReason("tool_use"),
    );
    model.on(afterTool("run_task"), reply().tool("approve_task", { id: "whatever" }, "t3").stopReason("tool_use"));
    model.on(afterTool("approve_task"), reply().text("Waiting for you."));
    const events = await readSse(await h.request("/api/chat/stream", { method: "POST", json: { message: "clean up" } }));
    const id = events.find((e) => e.event === "task")!.data.id;
    const results = events.filter((e) => e.event === "tool_result").map((e) => e.data);
    expect(results[0].summary).toContain("waiting for the owner");
    expect(results[1]).toMatchObject({ ok: false, summary: expect.stringContaining("unknown tool") });
    expect(
      h.s.tools
        .specs()
        .map((t) => t.name)
        .filter((n) => /approve/.test(n)),
    ).toEqual([]);
    const task = await (await h.request(`/api/tasks/${id}`)).json();
    expect(task).toMatchObject({ status: "queued", approval: { state: "pending" }, actor: "agent" });
  }, 60_000);
});
