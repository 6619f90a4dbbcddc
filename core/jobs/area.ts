import type { Area } from "../areas.ts";
import { Personality } from "../brain/prompt.ts";
import { natsAuthHealth, openCoreNatsBus, type NatsExposure } from "../nats/client.ts";
import type { Bus } from "../protocol/index.ts";
import type { Services } from "../services.ts";
import { LocalBus } from "./bus/local.ts";
import { createEdgeWorker } from "./edge.ts";
import { Heartbeats } from "./heartbeats.ts";
import { jobRoutes } from "./routes.ts";
import { JobService } from "./service.ts";
import { JobStore } from "./store.ts";
import { registerJobTools } from "./tools.ts";

async function openBus(s: Services): Promise<{ bus: Bus; exposure?: NatsExposure }> {
  if (!s.config.nats.url) return { bus: new LocalBus(s.store.sqlite, s.config.jobs.ackWaitMs) };
  return openCoreNatsBus(s.config, s.log.child({ area: "bus" }));
}

/** Jobs: the bus, dispatcher, status tracker, reaper, heartbeats, tools and routes; in edge mode the worker too. */
export const jobsArea: Area = {
  name: "jobs",
  async start(s) {
    const { bus, exposure } = await openBus(s);
    const store = new JobStore(s.store.db, s.store.sqlite);
    const personality = new Personality(s.config.dataDir);
    const log = s.log.child({ area: "jobs" });
    const heartbeats = new Heartbeats({ bus, intervalMs: s.config.jobs.heartbeatMs, version: s.version, log });
    const edge = !s.config.nats.url && s.config.jobs.edgeWorker;
    let worker: ReturnType<typeof createEdgeWorker> | undefined;
    try {
      // Built before anything starts: a bad allowlist or host rule fails the start cleanly.
      worker = edge ? createEdgeWorker(s, bus, `edge-${heartbeats.brainId.slice("brain-".length)}`) : undefined;
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
    if (exposure) s.health.register("nats_auth", () => natsAuthHealth(exposure));
    s.health.register("heartbeat", () => heartbeats.brainHealth());
    s.health.register("workers", () => heartbeats.workersHealth(edge));
    s.health.register("jobs", () => ({ status: "ok", counts: store.counts() }));

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
