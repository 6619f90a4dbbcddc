import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, and, firstRound, prompt, reply } from "../standins/script.ts";
import { ManualClock } from "./clock.ts";
import { type App, createSchedule, ended, runsWhere, scheduleApp } from "./helpers.ts";

/** The schedules API and the agent's tools: what is refused at the door, and what the agent may touch. */
let model: AnthropicStandIn;
let h: App;
const clock = new ManualClock(Date.parse("2026-03-28T12:00:00Z"));

beforeAll(async () => {
  model = startAnthropicStandIn();
  h = await scheduleApp(clock, { ANTHROPIC_API_KEY: "sk-ant-api03-schedules-0123456789abcdefghij", ANTHROPIC_BASE_URL: model.url, SCHEDULE_AGENT_MAX: "2" });
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await h.close();
  await model.stop();
});

const count = () => (h.s.store.sqlite.query("SELECT count(*) AS n FROM schedules").get() as { n: number }).n;
const audit = (action: string) => {
  h.s.audit.flush();
  return h.s.store.sqlite.query("SELECT outcome, actor, target, detail FROM audit_log WHERE action = ? ORDER BY id").all(action) as {
    outcome: string;
    actor: string;
    target: string | null;
    detail: string;
  }[];
};

describe("POST /api/schedules: what is refused at the door", () => {
  test("a bad body answers 400 invalid_schedule naming the field, and nothing is kept", async () => {
    const before = count();
    for (const [body, field] of [
      [{}, "name"],
      [{ name: "x", when: { cron: "61 * * * *" }, kind: "agent", prompt: "hi" }, "when.cron"],
      [{ name: "x", when: { cron: "* * * *  " }, kind: "agent", prompt: "hi" }, "when"],
      [{ name: "x", when: { at: "2020-01-01T00:00:00Z" }, kind: "agent", prompt: "hi" }, "when.at"],
      [{ name: "x", when: { cron: "0 0 30 2 *" }, kind: "agent", prompt: "hi" }, "when.cron"],
      [{ name: "x", when: { every: 0 }, kind: "agent", prompt: "hi" }, "when"],
      [{ name: "x", when: { every: 60 }, timeZone: "Mars/Base", kind: "agent", prompt: "hi" }, "timeZone"],
      [{ name: "x", when: { every: 60 }, kind: "agent" }, "prompt"],
      [{ name: "x", when: { every: 60 }, kind: "agent", prompt: "hi", job: { type: "command", command: "date" } }, "job"],
      [{ name: "x", when: { every: 60 }, kind: "job", job: { type: "command", command: "date; rm -rf /" } }, "job"],
      [{ name: "x", when: { every: 60 }, kind: "job", job: { type: "command", command: "date", idempotencyKey: "k" } }, "job.idempotencyKey"],
      [{ name: "x", when: { every: 60 }, kind: "task", task: { mode: "script" } }, "task.script"],
      [{ name: "x", when: { every: 60 }, kind: "agent", prompt: "hi", conversationId: "nope" }, "conversationId"],
      [{ name: "x", when: { every: 60 }, kind: "agent", prompt: "hi", extra: true }, "extra"],
      [{ name: "x", when: { every: 60 }, kind: "agent", prompt: "hi", catchUp: "all" }, "catchUp"],
    ] as const) {
      const res = await h.request("/api/schedules", { method: "POST", json: body });
      const json = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(json.error.code).toBe("invalid_schedule");
      expect(json.error.message).toContain(field);
    }
    expect(count()).toBe(before);
    expect(audit("schedule.created").filter((r) => r.outcome === "refused").length).toBeGreaterThanOrEqual(15);
  });

  test("without the token nothing is read or made", async () => {
    expect((await h.request("/api/schedules", { auth: false })).status).toBe(401);
    const before = count();
    expect((await h.request("/api/schedules", { method: "POST", auth: false, json: { name: "x", when: { every: 60 }, kind: "agent", prompt: "hi" } })).status).toBe(401);
    expect(count()).toBe(before);
  });
});

describe("Schedules through the API", () => {
  test("create, read in both zones, preview, edit, pause, resume, delete", async () => {
    const s = await createSchedule(h, { name: "Morning briefing", when: { cron: "30 2 * * *" }, kind: "agent", prompt: "Brief me" });
    expect(s).toMatchObject({ timeZone: "Europe/Berlin", overlap: "skip", catchUp: "once", createdBy: "owner", paused: false, nextRunLocal: "2026-03-29 03:00:00 GMT+2" });
    expect(s.nextRunAt).toBe(Date.parse("2026-03-29T01:00:00Z"));
    const preview = await (await h.request("/api/schedules/preview", { method: "POST", json: { when: { cron: "0 9 * * 1" }, timeZone: "America/New_York", count: 2 } })).json();
    expect(preview).toEqual({
      timeZone: "America/New_York",
      next: [
        { at: Date.parse("2026-03-30T13:00:00Z"), local: "2026-03-30 09:00:00 EDT" },
        { at: Date.parse("2026-04-06T13:00:00Z"), local: "2026-04-06 09:00:00 EDT" },
      ],
    });
    expect((await h.request("/api/schedules/preview", { method: "POST", json: { when: { cron: "nope" } } })).status).toBe(400);
    expect((await h.request("/api/schedules/preview", { method: "POST", json: { when: { cron: "* * * * * *" }, count: 100_000 } })).status).toBe(400);
    expect((await h.request("/api/schedules/preview", { method: "POST", json: { when: { every: 60 }, timeZone: "../../etc/passwd" } })).status).toBe(400);
    const list = await (await h.request("/api/schedules")).json();
    expect(list.timeZone).toBe("Europe/Berlin");
    expect(list.schedules.map((x: { id: string }) => x.id)).toContain(s.id);

    const edited = await (
      await h.request(`/api/schedules/${s.id}`, {
        method: "PUT",
        json: { name: "Briefing", when: { every: 3600 }, timeZone: "UTC", kind: "agent", prompt: "Brief me", overlap: "queue" },
      })
    ).json();
    expect(edited).toMatchObject({ name: "Briefing", timeZone: "UTC", overlap: "queue", nextRunAt: clock.now() + 3_600_000 });
    expect(edited.when.from).toBe(new Date(clock.now()).toISOString());
    expect(await (await h.request(`/api/schedules/${s.id}/pause`, { method: "POST" })).json()).toMatchObject({ paused: true, nextRunAt: null });
    expect(await (await h.request(`/api/schedules/${s.id}/resume`, { method: "POST" })).json()).toMatchObject({ paused: false, nextRunAt: clock.now() + 3_600_000 });
    expect(await (await h.request(`/api/schedules/${s.id}`, { method: "DELETE" })).json()).toEqual({ deleted: true });
    expect((await h.request(`/api/schedules/${s.id}`)).status).toBe(404);
    expect((await h.request(`/api/schedules/${s.id}/run`, { method: "POST" })).status).toBe(404);
    expect(audit("schedule.deleted").at(-1)).toMatchObject({ outcome: "ok", actor: "api", target: s.id });
  });

  test("run now starts a run at once, recorded with its conversation and cost", async () => {
    model.on(prompt("Disk report"), reply().text("All disks fine.").usage({ input: 100, output: 10 }));
    const s = await createSchedule(h, { name: "Disk", when: { cron: "0 3 * * *" }, kind: "agent", prompt: "Disk report" });
    const res = await h.request(`/api/schedules/${s.id}/run`, { method: "POST" });
    expect(res.status).toBe(202);
    const runs = await runsWhere(h, s.id, "the manual run ended", (r) => r.length === 1 && ended(r[0]!));
    const conversationId = runs[0]!.link?.conversationId;
    expect(runs[0]).toMatchObject({ trigger: "manual", status: "succeeded", caughtUp: false });
    expect(runs[0]!.costUsd).toBeGreaterThan(0);
    const conv = await (await h.request(`/api/conversations/${conversationId}`)).json();
    expect(JSON.stringify(conv)).toContain("All disks fine.");
  });
});

describe("The agent's schedule tools", () => {
  const chat = async (message: string) => (await h.request("/api/chat", { method: "POST", json: { message } })).json();

  test("what the agent makes is marked as its own, audited, and the owner can delete it", async () => {
    model.on(
      and(prompt("Remind me hourly"), firstRound),
      reply()
        .tool("create_schedule", { name: "Hourly nudge", when: { cron: "0 * * * *" }, kind: "agent", prompt: "Nudge the owner" }, "tu_c")
        .stopReason("tool_use"),
    );
    model.on(afterTool("create_schedule"), reply().text("Scheduled."));
    await chat("Remind me hourly");
    const list = (await (await h.request("/api/schedules")).json()).schedules as { id: string; name: string; createdBy: string }[];
    const mine = list.find((x) => x.name === "Hourly nudge")!;
    expect(mine.createdBy).toBe("agent");
    expect(audit("schedule.created").at(-1)).toMatchObject({ outcome: "ok", actor: "agent", target: mine.id });
    expect((await h.request(`/api/schedules/${mine.id}`, { method: "DELETE" })).status).toBe(200);
  });

  test("the agent cannot delete or pause the owner's schedule, fire more often than allowed, or pass its count", async () => {
    const owners = await createSchedule(h, { name: "Owner's backup check", when: { cron: "0 4 * * 0" }, kind: "agent", prompt: "Check backups" });
    model.on(
      and(prompt("Clean up schedules"), firstRound),
      reply().tool("delete_schedule", { id: owners.id }, "tu_d").tool("pause_schedule", { id: owners.id }, "tu_p").stopReason("tool_use"),
    );
    model.on(afterTool("delete_schedule"), reply().text("Could not."));
    await chat("Clean up schedules");
    const results = JSON.stringify(model.requests.at(-1)!.body.messages.at(-1));
    expect(results).toContain("delete_schedule failed: schedule");
    expect(results).toContain("pause_schedule failed: schedule");
    expect(results).toContain("the agent may change only the schedules it made");
    expect(await (await h.request(`/api/schedules/${owners.id}`)).json()).toMatchObject({ paused: false, createdBy: "owner" });
    expect(audit("schedule.deleted").at(-1)).toMatchObject({ outcome: "refused", actor: "agent", target: owners.id });

    model.on(
      and(prompt("Every second please"), firstRound),
      reply()
        .tool("create_schedule", { name: "Spam", when: { cron: "* * * * * *" }, kind: "agent", prompt: "Ping" }, "tu_s")
        .stopReason("tool_use"),
    );
    model.on(afterTool("create_schedule"), reply().text("Refused."));
    await chat("Every second please");
    expect(JSON.stringify(model.requests.at(-1)!.body.messages.at(-1))).toContain("SCHEDULE_AGENT_MIN_INTERVAL_S");

    const before = count();
    model.on(
      and(prompt("Three daily ones"), firstRound),
      reply()
        .tool("create_schedule", { name: "A", when: { cron: "0 7 * * *" }, kind: "agent", prompt: "a" }, "tu_1")
        .tool("create_schedule", { name: "B", when: { cron: "0 8 * * *" }, kind: "agent", prompt: "b" }, "tu_2")
        .tool("create_schedule", { name: "C", when: { cron: "0 9 * * *" }, kind: "agent", prompt: "c" }, "tu_3")
        .stopReason("tool_use"),
    );
    model.on(afterTool("create_schedule"), reply().text("Two of three."));
    await chat("Three daily ones");
    expect(count()).toBe(before + 2);
    expect(JSON.stringify(model.requests.at(-1)!.body.messages.at(-1))).toContain("SCHEDULE_AGENT_MAX");
  });
});
