import { readFileSync } from "node:fs";
import type { Area } from "../areas.ts";
import { Personality } from "../brain/prompt.ts";
import { AppError } from "../errors.ts";
import type { Bus } from "../protocol/index.ts";
import type { Services } from "../services.ts";
import { LocalBus } from "./bus/local.ts";
import { createEdgeWorker, edgeSandbox, sandboxHealth } from "./edge.ts";
import { Heartbeats } from "./heartbeats.ts";
import { jobRoutes } from "./routes.ts";
import { JobService } from "./service.ts";
import { JobStore } from "./store.ts";
import { registerJobTools } from "./tools.ts";

async function openBus(s: Services): Promise<Bus> {
  const { url, credsFile } = s.config.nats;
  if (!url) return new LocalBus(s.store.sqlite, s.config.jobs.ackWaitMs);
  const log = s.log.child({ area: "bus" });
  try {
    // The NATS client loads only in cluster mode.
    const { NatsBus } = await import("../protocol/nats.ts");
    return await NatsBus.open({
      url,
      ...(credsFile ? { creds: readFileSync(credsFile) } : {}),
      name: "bakerst-core",
      ackWaitMs: s.config.jobs.ackWaitMs,
      log: (level, msg, fields) => log[level](msg, fields),
    });
  } catch (err) {
    throw new AppError("nats_unreachable", `cannot use NATS at ${url}: ${(err as Error).message} (check NATS_URL/NATS_CREDS, or unset NATS_URL for edge mode)`, 503);
  }
}

/** Jobs: the bus, dispatcher, status tracker, reaper, heartbeats, tools and routes; in edge mode the worker too. */
export const jobsArea: Area = {
  name: "jobs",
  async start(s) {
    const bus = await openBus(s);
    const store = new JobStore(s.store.db, s.store.sqlite);
    const personality = new Personality(s.config.dataDir);
    const log = s.log.child({ area: "jobs" });
    const heartbeats = new Heartbeats(bus, s.config.jobs.heartbeatMs, s.version, log);
    const edge = !s.config.nats.url && s.config.jobs.edgeWorker;
    let worker: ReturnType<typeof createEdgeWorker> | undefined;
    const sandbox = edge ? edgeSandbox(s.config) : undefined;
    try {
      // Built before anything starts: a bad allowlist, grammar or host rule fails the start cleanly.
      worker = edge ? createEdgeWorker(s, bus, `edge-${heartbeats.brainId.slice("brain-".length)}`, sandbox!) : undefined;
    } catch (err) {
      await bus.close();
      throw err;
    }
    const jobs = new JobService({ store, bus, config: s.config, log, ledger: s.models.ledger, persona: () => personality.read("WORKER.md") });
    jobs.start();
    heartbeats.start();
    worker?.start();
    registerJobTools(s, jobs, store);

    s.health.register("bus", () => ({ ...bus.health(), kind: bus.kind }));
    s.health.register("heartbeat", () => heartbeats.brainHealth());
    s.health.register("workers", () => heartbeats.workersHealth(edge));
    s.health.register("jobs", () => ({ status: "ok", counts: store.counts() }));
    if (sandbox) {
      s.health.register("sandbox", () => sandboxHealth(sandbox));
      const { status, mode } = sandbox;
      if (mode === "off") log.warn("COMMAND_SANDBOX=off: command jobs run without a sandbox", { sandbox: status.detail });
      else if (!status.ok) log.error("the command sandbox does not work here; command jobs will be refused", { detail: status.detail, fix: status.fix });
    }

    return {
      routes: [jobRoutes(jobs, store)],
      async stop() {
        // The worker drains first so its final statuses still reach the tracker.
        await worker?.stop(10_000);
        await heartbeats.stop();
        await jobs.stop();
        await bus.close();
      },
    };
  },
};
