import { hostname } from "node:os";
import type { Bus, Subscription } from "../bus/types.ts";
import { decode, encode, HeartbeatV1, subjects, type Heartbeat } from "../protocol/index.ts";
import type { ComponentHealth } from "../telemetry/health.ts";
import type { Logger } from "../telemetry/log.ts";

/** Stale after this many missed beats. */
const MISSED = 3;

/**
 * Sends the brain's heartbeat and keeps the last one of every other sender;
 * GET /api/system/health reads it.
 */
export class Heartbeats {
  private seen = new Map<string, Heartbeat & { subject: string; receivedAt: number }>();
  private sub?: Subscription;
  private timer?: ReturnType<typeof setInterval>;
  readonly brainId: string;

  constructor(
    private bus: Bus,
    private intervalMs: number,
    private version: string,
    private log: Logger,
    private now: () => number = Date.now,
  ) {
    this.brainId = `brain-${hostname().replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 60)}-${process.pid}`;
  }

  start(): void {
    this.sub = this.bus.subscribe(subjects.heartbeatAll(), (data, subject) => {
      const d = decode(HeartbeatV1, data);
      if (!d.ok) {
        this.log.warn("skipping a heartbeat that fails its schema", { subject, reason: d.reason });
        return;
      }
      if (subject !== subjects.heartbeat(d.value.role, d.value.id)) {
        this.log.warn("skipping a heartbeat whose subject does not match its body", { subject, id: d.value.id });
        return;
      }
      this.seen.set(`${d.value.role}/${d.value.id}`, { ...d.value, subject, receivedAt: this.now() });
    });
    const beat = () =>
      void this.bus
        .publish(
          subjects.heartbeat("brain", this.brainId),
          encode(HeartbeatV1, { v: 1, role: "brain", id: this.brainId, at: this.now(), version: this.version, intervalMs: this.intervalMs, host: hostname() }),
        )
        .catch(() => {});
    beat();
    this.timer = setInterval(beat, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sub?.stop();
  }

  list(role?: Heartbeat["role"]) {
    const now = this.now();
    return [...this.seen.values()]
      .filter((h) => !role || h.role === role)
      .map((h) => ({
        id: h.id,
        role: h.role,
        host: h.host,
        version: h.version,
        running: h.running,
        capacity: h.capacity,
        lastSeenMs: now - h.receivedAt,
        alive: now - h.receivedAt <= h.intervalMs * MISSED,
      }));
  }

  /** Health of the workers for GET /api/system/health. */
  workersHealth(edgeWorker: boolean): ComponentHealth {
    const workers = this.list("worker");
    const alive = workers.filter((w) => w.alive);
    if (alive.length) return { status: "ok", detail: `${alive.length} worker(s) alive`, workers };
    return {
      status: "degraded",
      detail: workers.length ? "no worker heartbeat within 3 intervals" : "no worker has sent a heartbeat",
      workers,
      fix: edgeWorker ? "the in-process worker is not beating; check the logs" : "start a worker: bakerst-satellite --mode worker (NATS_URL set)",
    };
  }

  brainHealth(): ComponentHealth {
    const me = this.seen.get(`brain/${this.brainId}`);
    const others = this.list("brain").filter((b) => b.id !== this.brainId);
    return me
      ? { status: "ok", id: this.brainId, lastSeenMs: this.now() - me.receivedAt, others }
      : { status: "degraded", id: this.brainId, detail: "own heartbeat has not come back through the bus yet", others };
  }
}
