import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { KV_BUCKETS } from "../../core/protocol/queues.ts";
import { schedulesKeys } from "../../core/schedules/keys.ts";
import { Scheduler, SYNC_MS } from "../../core/schedules/scheduler.ts";
import { type ScheduleRow, ScheduleStore } from "../../core/schedules/store.ts";
import { createLogger } from "../../core/telemetry/log.ts";
import { waitFor } from "../helpers/nats.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { httpError, prompt, reply } from "../standins/script.ts";
import { ManualClock } from "./clock.ts";
import { type App, createSchedule, ended, notifications, runsOf, runsWhere, scheduleApp } from "./helpers.ts";

/**
 * The timer with the clock in the test's hand: due times come when the clock
 * says, croner decides which, and every outcome is a recorded run.
 */
let model: AnthropicStandIn;
const KEY = "sk-ant-api03-schedules-0123456789abcdefghij";
const MIN = 60_000;
const env = () => ({
  ANTHROPIC_API_KEY: KEY,
  ANTHROPIC_BASE_URL: model.url,
  SCHEDULE_GRACE_MS: String(5 * MIN),
  SCHEDULE_FAILURE_ALERT: "2",
  SCHEDULE_RUN_TIMEOUT_MS: String(30 * MIN),
});

beforeAll(() => {
  model = startAnthropicStandIn();
});
afterEach(() => model.checkAndReset());
afterAll(() => model.stop());

async function withApp(clock: ManualClock, fn: (h: App) => Promise<void>, extra: Record<string, string> = {}) {
  const h = await scheduleApp(clock, { ...env(), ...extra });
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

describe("Due times", () => {
  test("a Berlin 02:30 schedule fires at 03:00 local on the night of the spring change, then at 02:30 summer time, one timer armed", async () => {
    const clock = new ManualClock(Date.parse("2026-03-28T12:00:00Z"));
    await withApp(clock, async (h) => {
      model.always(prompt("Nightly report"), () => reply().text("Done."));
      const s = await createSchedule(h, { name: "Nightly", when: { cron: "30 2 * * *" }, kind: "agent", prompt: "Nightly report" });
      await createSchedule(h, { name: "New year", when: { cron: "0 12 1 1 *" }, kind: "agent", prompt: "Other" });
      // Two schedules, one timer: for the earliest, or sooner for the next look for changes.
      expect(clock.pending()).toEqual([Math.min(Date.parse("2026-03-29T01:00:00Z"), clock.now() + SYNC_MS)]);
      clock.advance(Date.parse("2026-03-29T01:00:00Z"));
      let runs = await runsWhere(h, s.id, "the first run ended", (r) => r.length === 1 && ended(r[0]!));
      expect(runs[0]).toMatchObject({ dueAt: Date.parse("2026-03-29T01:00:00Z"), status: "succeeded", caughtUp: false, startedAt: Date.parse("2026-03-29T01:00:00Z") });
      expect((await (await h.request(`/api/schedules/${s.id}`)).json()).nextRunLocal).toBe("2026-03-30 02:30:00 GMT+2");
      clock.advance(Date.parse("2026-03-30T00:30:00Z"));
      runs = await runsWhere(h, s.id, "the second run ended", (r) => r.length === 2 && ended(r[1]!));
      expect(runs[1]!.dueAt).toBe(Date.parse("2026-03-30T00:30:00Z"));
      // Both runs went to the schedule's own conversation.
      expect(runs[1]!.link?.conversationId).toBe(runs[0]!.link?.conversationId as string);
    });
  }, 30_000);

  test("a clock that jumps past the grace period runs once, marked caught up, and the owner is told it was missed", async () => {
    const clock = new ManualClock(Date.parse("2026-05-01T10:00:00Z"));
    await withApp(clock, async (h) => {
      model.always(prompt("Hourly"), () => reply().text("ok"));
      const s = await createSchedule(h, { name: "Hourly", when: { cron: "0 * * * *" }, timeZone: "UTC", kind: "agent", prompt: "Hourly" });
      clock.advance(Date.parse("2026-05-01T13:20:00Z"));
      const runs = await runsWhere(h, s.id, "the caught-up run ended", (r) => r.length === 1 && ended(r[0]!));
      expect(runs[0]).toMatchObject({ dueAt: Date.parse("2026-05-01T13:00:00Z"), status: "succeeded", caughtUp: true, reason: expect.stringContaining("3 due times") });
      expect((await notifications(h, "schedule_missed")).length).toBe(1);
      const health = await (await h.request("/api/system/health")).json();
      expect(JSON.stringify(health)).toContain("missed");
    });
  }, 30_000);
});

describe("A busy timer", () => {
  test("due times passed within the grace period run as due; more than SCHEDULE_CATCH_UP_MAX of them go to the catch-up policy, without a missed alert", async () => {
    const clock = new ManualClock(Date.parse("2026-05-02T10:00:00Z"));
    await withApp(
      clock,
      async (h) => {
        model.always(prompt(/^busy /), () => reply().text("ok"));
        const few = await createSchedule(h, { name: "few", when: { every: 20 }, kind: "agent", prompt: "busy few", overlap: "queue" });
        clock.advance(clock.now() + 40_000);
        const runs = await runsWhere(h, few.id, "two runs as due", (r) => r.length === 2 && r.every(ended));
        expect(runs.map((r) => [r.status, r.caughtUp])).toEqual([
          ["succeeded", false],
          ["succeeded", false],
        ]);
        await h.request(`/api/schedules/${few.id}/pause`, { method: "POST" });
        const many = await createSchedule(h, { name: "many", when: { every: 5 }, kind: "agent", prompt: "busy many" });
        clock.advance(clock.now() + 60_000);
        const caught = await runsWhere(h, many.id, "one caught-up run", (r) => r.length === 1 && ended(r[0]!));
        expect(caught[0]).toMatchObject({ status: "succeeded", caughtUp: true, reason: expect.stringContaining("more than 3") });
        expect(await notifications(h, "schedule_missed")).toEqual([]);
      },
      { SCHEDULE_CATCH_UP_MAX: "3" },
    );
  }, 30_000);
});

describe("Catch-up after a downtime", () => {
  test("skip records the missed times as skipped; once runs one; each runs up to the cap and skips the rest; all marked caught up", async () => {
    const clock = new ManualClock(Date.parse("2026-06-01T08:00:00Z"));
    let h = await scheduleApp(clock, { ...env(), SCHEDULE_CATCH_UP_MAX: "3" });
    const dataDir = h.dataDir;
    model.always(prompt(/^catch /), () => reply().text("caught"));
    const skip = await createSchedule(h, { name: "skip", when: { every: 600 }, kind: "agent", prompt: "catch skip", catchUp: "skip" });
    const once = await createSchedule(h, { name: "once", when: { every: 600 }, kind: "agent", prompt: "catch once", catchUp: "once" });
    const each = await createSchedule(h, { name: "each", when: { every: 600 }, kind: "agent", prompt: "catch each", catchUp: "each" });
    await h.close(false);
    // Down for an hour: six due times of each passed.
    clock.t += 60 * MIN + 1000;
    h = await scheduleApp(clock, { ...env(), SCHEDULE_CATCH_UP_MAX: "3" }, dataDir);
    try {
      const s = await runsWhere(h, skip.id, "skip", (r) => r.length === 1);
      expect(s[0]).toMatchObject({ status: "skipped", reason: expect.stringContaining("while bakerst was down; catch-up policy skip") });
      const o = await runsWhere(h, once.id, "once", (r) => r.length === 1 && ended(r[0]!));
      expect(o[0]).toMatchObject({ status: "succeeded", caughtUp: true });
      const e = await runsWhere(h, each.id, "each", (r) => r.length === 4 && r.every(ended), 20_000);
      expect(e.slice(0, 3).map((r) => [r.status, r.caughtUp])).toEqual([
        ["succeeded", true],
        ["succeeded", true],
        ["succeeded", true],
      ]);
      expect(e[3]).toMatchObject({ status: "skipped", reason: expect.stringContaining("SCHEDULE_CATCH_UP_MAX (3)") });
      // The cursors moved past now: nothing more is due until the next interval.
      for (const id of [skip.id, once.id, each.id]) expect((await (await h.request(`/api/schedules/${id}`)).json()).nextRunAt).toBeGreaterThan(clock.now());
      expect(await notifications(h, "schedule_missed")).toEqual([]);
    } finally {
      await h.close();
    }
  }, 60_000);
});

describe("Overlap", () => {
  test("skip: a due time while the last run is still going is skipped with the reason; queue: one waits and runs after", async () => {
    const clock = new ManualClock(Date.parse("2026-07-01T00:00:00Z"));
    await withApp(clock, async (h) => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      model.on(prompt("slow skip"), reply().wait(gate).text("done"));
      model.always(prompt("slow skip"), () => reply().text("again"));
      const skip = await createSchedule(h, { name: "slow skip", when: { every: 60 }, kind: "agent", prompt: "slow skip", overlap: "skip" });
      clock.advance(clock.now() + MIN);
      await runsWhere(h, skip.id, "running", (r) => r[0]?.status === "running");
      clock.advance(clock.now() + MIN);
      let runs = await runsWhere(h, skip.id, "skipped", (r) => r.length === 2);
      expect(runs[1]).toMatchObject({ status: "skipped", reason: expect.stringContaining("overlap: the run due") });
      release();
      runs = await runsWhere(h, skip.id, "first ended", (r) => r[0]!.status === "succeeded");
      expect(runs.map((r) => r.status)).toEqual(["succeeded", "skipped"]);

      let release2!: () => void;
      const gate2 = new Promise<void>((r) => (release2 = r));
      model.on(prompt("slow queue"), reply().wait(gate2).text("one"), reply().text("two"));
      const queue = await createSchedule(h, { name: "slow queue", when: { every: 60 }, kind: "agent", prompt: "slow queue", overlap: "queue" });
      clock.advance(clock.now() + MIN);
      await runsWhere(h, queue.id, "running", (r) => r[0]?.status === "running");
      clock.advance(clock.now() + MIN);
      clock.advance(clock.now() + MIN);
      runs = await runsWhere(h, queue.id, "queued and skipped", (r) => r.length === 3);
      expect(runs.map((r) => r.status)).toEqual(["running", "queued", "skipped"]);
      expect(runs[2]!.reason).toContain("one already waits");
      release2();
      runs = await runsWhere(h, queue.id, "both ran", (r) => r[0]!.status === "succeeded" && r[1]!.status === "succeeded");
      expect(runs[1]!.startedAt).toBeGreaterThanOrEqual(runs[1]!.dueAt);
    });
  }, 30_000);
});

describe("Budget", () => {
  test("past the daily budget agent runs are skipped with the reason, no model call is made, and the owner is told once", async () => {
    const clock = new ManualClock(Date.parse("2026-08-01T00:00:00Z"));
    await withApp(
      clock,
      async (h) => {
        model.on(prompt("spend"), reply().text("expensive").usage({ input: 10_000, output: 0 }));
        await h.s.brain.start({ message: "spend", origin: "api" }).done;
        const before = model.requests.length;
        const s = await createSchedule(h, { name: "Costly", when: { every: 60 }, kind: "agent", prompt: "Spend money" });
        const j = await createSchedule(h, { name: "Agent job", when: { every: 60 }, kind: "job", job: { type: "agent", prompt: "Spend more" } });
        clock.advance(clock.now() + MIN);
        clock.advance(clock.now() + MIN);
        const runs = await runsWhere(h, s.id, "two skipped", (r) => r.length === 2 && r.every(ended));
        expect(runs.map((r) => r.status)).toEqual(["skipped", "skipped"]);
        expect(runs[0]!.reason).toContain("budget: today's budget of $0.01 is spent");
        expect(runs[1]!.reason).toMatch(/^(budget|overlap)/);
        const jobs = await runsWhere(h, j.id, "job skipped", (r) => r.length === 2 && r.every(ended));
        expect(jobs.map((r) => r.status)).toEqual(["skipped", "skipped"]);
        expect(model.requests.length).toBe(before);
        expect((await notifications(h, "schedule_budget")).length).toBe(1);
      },
      { DAILY_BUDGET_USD: "0.01" },
    );
  }, 30_000);
});

describe("Dead-man alerts", () => {
  test("a stuck run is reported past the grace period (and in health), then stopped at the run timeout and counted as failed", async () => {
    const clock = new ManualClock(Date.parse("2026-09-01T00:00:00Z"));
    await withApp(clock, async (h) => {
      model.on(prompt("Hang"), reply().hang());
      const s = await createSchedule(h, { name: "Stuck", when: { every: 600 }, kind: "agent", prompt: "Hang" });
      clock.advance(clock.now() + 10 * MIN);
      await runsWhere(h, s.id, "running", (r) => r[0]?.status === "running");
      clock.advance(clock.now() + 10 * MIN);
      const runs = await runsWhere(h, s.id, "skipped behind the stuck run", (r) => r.length === 2);
      expect(runs[1]).toMatchObject({ status: "skipped" });
      const stuck = await notifications(h, "schedule_stuck");
      expect(stuck.length).toBe(1);
      expect(stuck[0]!.message).toContain("Stuck");
      const health = await (await h.request("/api/system/health")).json();
      expect(JSON.stringify(health.components?.schedules ?? health)).toContain("stuck");
      // The run timeout (30 min) stops it.
      clock.advance(clock.now() + 21 * MIN);
      const done = await runsWhere(h, s.id, "the stuck run failed", (r) => r[0]!.status === "failed");
      expect(done[0]!.reason).toContain("timeout");
    });
  }, 30_000);

  test("failures in a row reach SCHEDULE_FAILURE_ALERT and the owner is told once; a success resets the count", async () => {
    const clock = new ManualClock(Date.parse("2026-10-01T00:00:00Z"));
    await withApp(clock, async (h) => {
      model.on(prompt("Flaky"), httpError(400), httpError(400), httpError(400), reply().text("fine"));
      const s = await createSchedule(h, { name: "Flaky", when: { every: 60 }, kind: "agent", prompt: "Flaky" });
      for (let i = 1; i <= 3; i++) {
        clock.advance(clock.now() + MIN);
        await runsWhere(h, s.id, `run ${i} ended`, (r) => r.length === i && r.every(ended));
      }
      expect((await runsOf(h, s.id)).map((r) => r.status)).toEqual(["failed", "failed", "failed"]);
      expect((await notifications(h, "schedule_failing")).length).toBe(1);
      expect((await (await h.request(`/api/schedules/${s.id}`)).json()).consecutiveFailures).toBe(3);
      clock.advance(clock.now() + MIN);
      await runsWhere(h, s.id, "a success", (r) => r.length === 4 && r[3]!.status === "succeeded");
      expect((await (await h.request(`/api/schedules/${s.id}`)).json()).consecutiveFailures).toBe(0);
    });
  }, 30_000);
});

describe("Two cores", () => {
  test("a schedule another core made in the shared database is picked up at the next look and runs", async () => {
    const clock = new ManualClock(Date.parse("2026-11-03T00:00:00Z"));
    await withApp(clock, async (h) => {
      model.on(prompt("From the other core"), reply().text("ran here"));
      const now = clock.now();
      const row: ScheduleRow = {
        id: "01a2-other-core",
        name: "Made elsewhere",
        when: { at: new Date(now + SYNC_MS + 15_000).toISOString() },
        timeZone: "UTC",
        kind: "agent",
        action: { kind: "agent", prompt: "From the other core" },
        overlap: "skip",
        catchUp: "once",
        paused: false,
        createdBy: "owner",
        conversationId: null,
        nextDueAt: now + SYNC_MS + 15_000,
        consecutiveFailures: 0,
        createdAt: now,
        updatedAt: now,
      };
      new ScheduleStore(h.s.store.db).insert(row);
      clock.advance(now + SYNC_MS);
      await waitFor("the timer armed for it", () => clock.pending().includes(row.nextDueAt!));
      clock.advance(row.nextDueAt!);
      const runs = await runsWhere(h, row.id, "its run", (r) => r.length === 1 && ended(r[0]!));
      expect(runs[0]).toMatchObject({ dueAt: row.nextDueAt, status: "succeeded", caughtUp: false });
    });
  }, 30_000);

  test("each due time runs once when three timers (the app's and two more) share the data and the lease bucket", async () => {
    const clock = new ManualClock(Date.parse("2026-11-01T00:00:00Z"));
    await withApp(clock, async (h) => {
      model.always(prompt("Once only"), () => reply().text("ran in the app's core"));
      const s = await createSchedule(h, { name: "Once only", when: { every: 60 }, kind: "agent", prompt: "Once only", paused: true });
      const store = new ScheduleStore(h.s.store.db);
      const kv = await h.s.bus.kv(KV_BUCKETS.leases);
      const started: string[] = [];
      const settings = h.config.read(schedulesKeys);
      const core = (instance: string) =>
        new Scheduler({
          store,
          kv,
          clock,
          settings,
          ledger: h.s.models.ledger,
          notifications: h.s.notifications,
          log: createLogger("silent"),
          instance,
          start: async () => (started.push(instance), { link: {}, done: Promise.resolve({ ok: true }), stop: () => {} }),
        });
      const a = core("core-a");
      const b = core("core-b");
      store.update(s.id, { paused: false, nextDueAt: clock.now() + MIN });
      await a.start();
      await b.start();
      for (let i = 1; i <= 3; i++) {
        clock.advance(clock.now() + MIN);
        await runsWhere(h, s.id, `due time ${i}`, (r) => r.length === i && r.every(ended));
      }
      const inApp = model.requests.filter((r) => JSON.stringify(r.body.messages).includes("Once only")).length;
      expect(started.length + inApp).toBe(3);
      const runs = await runsOf(h, s.id);
      expect(runs.map((r) => r.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
      expect(new Set(runs.map((r) => r.dueAt)).size).toBe(3);
      await a.stop();
      await b.stop();
    });
  }, 30_000);
});
