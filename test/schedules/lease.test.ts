import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { NatsBus } from "../../core/bus/nats.ts";
import { openStore, type Store } from "../../core/db/client.ts";
import { UsageLedger } from "../../core/models/usage.ts";
import { Notifications } from "../../core/notifications/service.ts";
import { KV_BUCKETS } from "../../core/protocol/queues.ts";
import { schedulesKeys } from "../../core/schedules/keys.ts";
import { Scheduler } from "../../core/schedules/scheduler.ts";
import { type ScheduleRow, ScheduleStore } from "../../core/schedules/store.ts";
import { createLogger } from "../../core/telemetry/log.ts";
import { tempDir, testConfig } from "../helpers/app.ts";
import { type NatsServer, startNats, waitFor } from "../helpers/nats.ts";
import { ManualClock } from "./clock.ts";

/**
 * Cluster mode: two cores that share nothing but NATS (each its own database,
 * as during a handoff between pods) run each due time once, decided by the
 * lease in the JetStream KV bucket.
 */
let nats: NatsServer;
const dirs: string[] = [];

beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("The due-time lease in JetStream KV", () => {
  test("two cores with their own databases and one NATS run each due time once between them", async () => {
    const clock = new ManualClock(Date.parse("2026-11-02T00:00:00Z"));
    const settings = testConfig().read(schedulesKeys);
    const row = (now: number): ScheduleRow => ({
      id: "01a2-lease-test",
      name: "Once between two",
      when: { every: 60, from: new Date(now).toISOString() },
      timeZone: "UTC",
      kind: "job",
      action: { kind: "job", job: { type: "command", command: "date -u" } },
      overlap: "skip",
      catchUp: "once",
      paused: false,
      createdBy: "owner",
      conversationId: null,
      nextDueAt: now + 60_000,
      consecutiveFailures: 0,
      createdAt: now,
      updatedAt: now,
    });
    const cores: { scheduler: Scheduler; store: Store; bus: NatsBus; schedules: ScheduleStore }[] = [];
    for (const instance of ["core-a", "core-b"]) {
      const dir = tempDir();
      dirs.push(dir);
      const store = openStore(dir);
      const schedules = new ScheduleStore(store.db);
      schedules.insert(row(clock.now()));
      const bus = await NatsBus.open({ url: nats.url, name: instance });
      const scheduler = new Scheduler({
        store: schedules,
        kv: await bus.kv(KV_BUCKETS.leases),
        clock,
        settings,
        ledger: new UsageLedger(
          store.db,
          () => ({}),
          () => undefined,
        ),
        notifications: new Notifications(store.db),
        log: createLogger("silent"),
        instance,
        // What runs does not matter here, only who runs it: each core's runs are in its own database.
        start: async () => ({ link: {}, done: Promise.resolve({ ok: true }), stop: () => {} }),
      });
      cores.push({ scheduler, store, bus, schedules });
    }
    // Which core ran each due time: read from the runs each recorded.
    const ran = () => cores.flatMap((c, i) => c.schedules.runs("01a2-lease-test", 100).map((r) => ({ core: i, dueAt: r.dueAt, status: r.status })));
    for (const c of cores) await c.scheduler.start();
    for (let i = 1; i <= 4; i++) {
      clock.advance(clock.now() + 60_000);
      await waitFor(`due time ${i} run by one core`, () => ran().filter((r) => r.status === "succeeded").length === i, 10_000);
    }
    // Both cores moved their own cursors each time; the lease let one of them run it.
    const runs = ran();
    expect(runs.length).toBe(4);
    expect(new Set(runs.map((r) => r.dueAt)).size).toBe(4);
    for (const c of cores) expect(c.schedules.get("01a2-lease-test")!.nextDueAt).toBe(clock.now() + 60_000);
    for (const c of cores) {
      await c.scheduler.stop();
      await c.bus.close();
      c.store.sqlite.close();
    }
  }, 60_000);
});
