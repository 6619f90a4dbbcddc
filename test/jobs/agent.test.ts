import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { makeApp, readSse } from "../helpers/app.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, and, firstRound, prompt, reply } from "../standins/script.ts";

let model: AnthropicStandIn;
let h: Awaited<ReturnType<typeof makeApp>>;

beforeAll(async () => {
  model = startAnthropicStandIn();
  h = await makeApp({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url, COMMAND_ALLOWLIST: "date,uname" });
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await h.close();
  await model.stop();
});

const systemText = (i: number) => {
  const s = model.requests[i]!.body.system;
  return typeof s === "string" ? s : (s ?? []).map((b) => b.text).join("");
};

describe("agent jobs", () => {
  test("run the worker model with WORKER.md and its own tools, and record usage under the worker role", async () => {
    const before = model.requests.length;
    model.on(
      and(prompt("Which kernel runs here?"), firstRound),
      reply()
        .tool("run_command", { argv: ["uname", "-s"] }, "tu_1")
        .stopReason("tool_use")
        .usage({ input: 300, output: 40 }),
    );
    model.on(afterTool("run_command"), reply().text("The kernel is Linux.").usage({ input: 400, output: 20 }));
    const res = await h.request("/api/jobs?wait=10000", { method: "POST", json: { type: "agent", prompt: "Which kernel runs here?" } });
    const job = await res.json();
    expect(job.status).toBe("completed");
    expect(job.result).toEqual({ text: "The kernel is Linux.", rounds: 2, budgetExhausted: false });

    expect(model.requests.length - before).toBe(2);
    expect(systemText(before)).toContain("You are a Baker Street worker");
    expect(model.requests[before]!.body.tools?.map((t) => t.name).sort()).toEqual(["http_request", "run_command"]);
    const toolResult = JSON.stringify(model.requests[before + 1]!.body.messages.at(-1));
    expect(toolResult).toContain("tool_result");
    expect(toolResult).toContain("Linux");

    h.s.models.ledger.flush();
    const rows = h.s.store.sqlite.query("SELECT role, input_tokens AS i, output_tokens AS o FROM usage ORDER BY id").all();
    expect(rows).toEqual([
      { role: "worker", i: 300, o: 40 },
      { role: "worker", i: 400, o: 20 },
    ]);
  });

  test("stop at the token budget with what they have", async () => {
    const before = model.requests.length;
    model.on(
      prompt("loop"),
      reply()
        .text("partial")
        .tool("run_command", { argv: ["date"] }, "tu_2")
        .stopReason("tool_use")
        .usage({ input: 250, output: 60 }),
    );
    const job = await (await h.request("/api/jobs?wait=10000", { method: "POST", json: { type: "agent", prompt: "loop", tokenBudget: 300 } })).json();
    expect(job.status).toBe("completed");
    expect(job.result).toMatchObject({ text: "partial", budgetExhausted: true, rounds: 1 });
    expect(model.requests.length - before).toBe(1);
    expect(model.requests[before]!.body.max_tokens).toBeLessThanOrEqual(300);
  });
});

describe("dispatch_job in chat", () => {
  test("the stream carries job events as the job moves to completed, and the model gets the result", async () => {
    model.on(and(prompt("what time is it on the server?"), firstRound), reply().tool("dispatch_job", { type: "command", command: "date -u" }, "tu_c").stopReason("tool_use"));
    model.on(afterTool("dispatch_job"), reply().text("Done."));
    const res = await h.request("/api/chat/stream", { method: "POST", json: { message: "what time is it on the server?" } });
    const events = await readSse(res);
    const jobs = events.filter((e) => e.event === "job").map((e) => e.data);
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(1);
    expect(jobs[0].status).toBe("queued");
    expect(jobs.at(-1).status).toBe("completed");
    const result = events.find((e) => e.event === "tool_result")!.data;
    expect(result.ok).toBe(true);
    expect(result.summary).toContain("completed");
    expect(result.summary).toContain("UTC");
    expect(events.at(-1)!.event).toBe("done");
    // get_job and list_jobs see it too.
    const listed = await h.s.tools.execute(
      "list_jobs",
      { limit: 1 },
      { conversationId: "c", turnId: "t", origin: "web" as const, signal: new AbortController().signal, emit: () => {} },
    );
    expect(listed.content).toContain(jobs[0].id);
    const got = await h.s.tools.execute(
      "get_job",
      { id: jobs[0].id },
      { conversationId: "c", turnId: "t", origin: "web" as const, signal: new AbortController().signal, emit: () => {} },
    );
    expect(got.ok).toBe(true);
    expect(got.content).toContain('"status": "completed"');
  });
});
