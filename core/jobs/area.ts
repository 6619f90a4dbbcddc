import { defineArea } from "../area/types.ts";
import type { Check } from "../cli/check.ts";
import type { Config } from "../config/index.ts";
import { CommandGrammarsSpec, QUEUES } from "../protocol/index.ts";
import { createEdgeWorker, edgeSandbox, sandboxHealth } from "./edge.ts";
import { Heartbeats } from "./heartbeats.ts";
import { jobsKeys } from "./keys.ts";
import { jobRoutes } from "./routes.ts";
import { JobService } from "./service.ts";
import { JobStore } from "./store.ts";
import { registerJobTools } from "./tools.ts";

declare module "../area/types.ts" {
  interface Provided {
    jobs: JobService;
  }
}

/** Status messages are small and applied in batches; their consumer's ack wait is fixed. */
const STATUS_ACK_WAIT_MS = 30_000;

/** `bakerst doctor`: in edge mode, the sandbox command jobs run in, tried for real as the area does at start. */
function sandboxCheck(config: Config): Check[] {
  const settings = config.read(jobsKeys);
  if (config.nats.url || !settings.EDGE_WORKER) return [];
  const { mode, status } = edgeSandbox(config, settings);
  if (mode === "off")
    return [{ ok: true, name: "sandbox", detail: `COMMAND_SANDBOX=off: command jobs run without a sandbox (${status.ok ? "bubblewrap would work here" : status.detail})` }];
  return [
    status.ok
      ? { ok: true, name: "sandbox", detail: status.detail }
      : { ok: false, name: "sandbox", detail: `${status.detail}; command jobs are refused`, ...(status.fix ? { fix: status.fix } : {}) },
  ];
}

/** Jobs: dispatcher, status tracker, reaper, heartbeats, tools and routes; in edge mode the worker and its sandbox too. */
export const jobsArea = defineArea({
  name: "jobs",
  provides: ["jobs"],
  config: { keys: jobsKeys, sections: { commands: CommandGrammarsSpec } },
  doctor: sandboxCheck,
  async start(ctx) {
    const settings = ctx.config.read(jobsKeys);
    const store = new JobStore(ctx.store.db, ctx.store.sqlite);
    const heartbeats = new Heartbeats({ bus: ctx.bus, intervalMs: settings.HEARTBEAT_INTERVAL_MS, version: ctx.version, log: ctx.log });
    const edge = ctx.bus.kind === "local" && settings.EDGE_WORKER;
    const sandbox = edge ? edgeSandbox(ctx.config, settings) : undefined;
    // Built before anything starts: a bad allowlist, grammar or host rule fails the start cleanly.
    const worker = edge && sandbox ? createEdgeWorker(ctx, settings, `edge-${heartbeats.brainId.slice("brain-".length)}`, sandbox) : undefined;
    if (sandbox) {
      ctx.health.register("sandbox", () => sandboxHealth(sandbox));
      const { status, mode } = sandbox;
      if (mode === "off") ctx.log.warn("COMMAND_SANDBOX=off: command jobs run without a sandbox", { sandbox: status.detail });
      else if (!status.ok) ctx.log.error("the command sandbox does not work here; command jobs will be refused", { detail: status.detail, fix: status.fix });
    }
    const queues = {
      dispatch: await ctx.bus.declare(QUEUES.jobs, { ackWaitMs: settings.JOB_ACK_WAIT_MS }),
      statuses: await ctx.bus.declare(QUEUES.jobStatus, { ackWaitMs: STATUS_ACK_WAIT_MS }),
    };
    const jobs = new JobService({
      store,
      bus: ctx.bus,
      queues,
      settings,
      log: ctx.log,
      ledger: ctx.models.ledger,
      audit: ctx.audit,
      persona: () => ctx.personality.read("WORKER.md"),
    });
    jobs.start();
    heartbeats.start();
    worker?.start();
    ctx.provide("jobs", jobs);
    registerJobTools(ctx.tools, jobs, store, settings);
    ctx.routes(jobRoutes(jobs, store, settings, ctx.audit));

    ctx.health.register("heartbeat", () => heartbeats.brainHealth());
    ctx.health.register("workers", () => heartbeats.workersHealth(edge));
    ctx.health.register("jobs", () => ({ status: "ok", counts: store.counts() }));

    ctx.onStop(async () => {
      // The worker drains first so its final statuses still reach the tracker.
      await worker?.stop(10_000);
      await heartbeats.stop();
      await jobs.stop();
    });
  },
});
