import { defineArea } from "../area/types.ts";
import { ConfigError } from "../config/index.ts";
import { KV_BUCKETS } from "../protocol/queues.ts";
import { schedulesKeys } from "./keys.ts";
import { scheduleRoutes } from "./routes.ts";
import { startRun } from "./runner.ts";
import { type Clock, Scheduler, systemClock } from "./scheduler.ts";
import { ScheduleService } from "./service.ts";
import { ScheduleStore } from "./store.ts";
import { checkTimeZone, machineZone, TimingError } from "./timing.ts";
import { registerScheduleTools } from "./tools.ts";

declare module "../area/types.ts" {
  interface Provided {
    schedules: ScheduleService;
  }
}

/** Tests move time by hand through this; nothing else sets it. */
export const scheduleClock: { current: Clock } = { current: systemClock };

/** Schedules: cron, one-shot and interval timings in time zones; agent prompts, jobs and tasks on a clock; catch-up, overlap, budget and dead-man alerts. */
export const schedulesArea = defineArea({
  name: "schedules",
  needs: ["jobs", "brain", "notifications", "conversations"],
  wants: ["tasks"],
  provides: ["schedules"],
  config: { keys: schedulesKeys },
  async start(ctx) {
    const settings = ctx.config.read(schedulesKeys);
    let defaultZone: string;
    try {
      defaultZone = checkTimeZone(settings.SCHEDULE_TIME_ZONE ?? machineZone());
    } catch (err) {
      if (err instanceof TimingError) throw new ConfigError("SCHEDULE_TIME_ZONE", "an IANA time zone such as Europe/Berlin", ctx.config.file ?? "environment");
      throw err;
    }
    const clock = scheduleClock.current;
    const store = new ScheduleStore(ctx.store.db);
    const conversations = ctx.need("conversations");
    const conversationExists = (id: string) => conversations.find(id) !== undefined;
    const jobs = ctx.need("jobs");
    const brain = ctx.need("brain");
    const tasks = ctx.want("tasks");
    const scheduler = new Scheduler({
      store,
      kv: await ctx.bus.kv(KV_BUCKETS.leases),
      clock,
      settings,
      ledger: ctx.models.ledger,
      notifications: ctx.need("notifications"),
      log: ctx.log,
      instance: ctx.instance,
      start: (row, timeoutMs) =>
        startRun(
          {
            brain,
            jobs,
            ...(tasks ? { tasks } : {}),
            prices: () => ctx.models.settings.prices(),
            ownConversation: (id, conversationId) => store.update(id, { conversationId }),
            conversationExists,
          },
          row,
          timeoutMs,
        ),
    });
    const service = new ScheduleService({ store, scheduler, settings, defaultZone, audit: ctx.audit, clock, conversationExists });
    ctx.provide("schedules", service);
    registerScheduleTools(ctx.tools, service, settings);
    ctx.routes(scheduleRoutes(service));
    ctx.health.register("schedules", () => {
      const h = scheduler.health();
      const base = { loaded: h.loaded, running: h.running, timeZone: defaultZone };
      if (!h.alerts.length) return { status: "ok", ...base };
      return { status: "degraded", detail: h.alerts.map((a) => `${a.name}: ${a.kind}`).join("; "), alerts: h.alerts, ...base };
    });
    await scheduler.start();
    ctx.onStop(() => scheduler.stop());
  },
});
