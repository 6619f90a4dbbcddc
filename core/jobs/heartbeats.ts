import { hostname } from "node:os";
import type { Bus, Subscription } from "../bus/types.ts";
import { decode, encode, type Heartbeat, HeartbeatV1, subjects } from "../protocol/index.ts";
import type { ComponentHealth } from "../telemetry/health.ts";
import type { Logger } from "../telemetry/log.ts";

/** Stale after this many missed beats. */
const MISSED = 3;
/** Senders kept at most; past it, beats from senders not yet known are dropped and counted. */
export const MAX_SENDERS = 1_000;
/** A sender not heard from for this long is forgotten. */
export const FORGET_MS = 90_000;
/** A heartbeat is a few hundred bytes; anything larger is not one. */
export const MAX_HEARTBEAT_BYTES = 2_048;
/** Senders health names one by one (the most recently heard); the rest are counted. */
const LISTED = 20;
/** Refusals are logged at most this often, with the count since the last line. */
const LOG_EVERY_MS = 60_000;

type Seen = Heartbeat & { subject: string; receivedAt: number };

/** One sender as health shows it. */
export interface SenderView {
  id: string;
  role: Heartbeat["role"];
  host: string | undefined;
  version: string;
  running: number | undefined;
  capacity: number | undefined;
  lastSeenMs: number;
  alive: boolean;
}

export type WorkersHealth = ComponentHealth & { count: number; alive: number; workers: SenderView[]; dropped?: { full: number; invalid: number } };

export interface HeartbeatsOptions {
  bus: Bus;
  intervalMs: number;
  version: string;
  log: Logger;
  now?: () => number;
  maxSenders?: number;
  forgetMs?: number;
}

/**
 * Sends the brain's heartbeat and keeps the last one of every other sender,
 * for GET /api/system/health. Anyone allowed to beat can make up senders, so
 * the table is bounded: at most `maxSenders`, each forgotten `forgetMs` after
 * its last beat, and health names only a few of them.
 */
export class Heartbeats {
  /** Oldest beat first: a beat moves its sender to the end, so forgetting trims from the front. */
  private seen = new Map<string, Seen>();
  private own?: Seen;
  private sub?: Subscription;
  private timer?: ReturnType<typeof setInterval>;
  private now: () => number;
  private maxSenders: number;
  private forgetMs: number;
  /** Beats refused since start: too many senders, or not a heartbeat. */
  readonly dropped = { full: 0, invalid: 0 };
  private unlogged = { full: 0, invalid: 0 };
  private loggedAt = Number.NEGATIVE_INFINITY;
  readonly brainId: string;

  constructor(private opts: HeartbeatsOptions) {
    this.now = opts.now ?? Date.now;
    this.maxSenders = opts.maxSenders ?? MAX_SENDERS;
    this.forgetMs = opts.forgetMs ?? FORGET_MS;
    this.brainId = `brain-${hostname()
      .replace(/[^A-Za-z0-9_-]/g, "-")
      .slice(0, 60)}-${process.pid}`;
  }

  start(): void {
    this.sub = this.opts.bus.subscribe(subjects.heartbeatAll(), (data, subject) => this.receive(data, subject));
    const beat = () =>
      void this.opts.bus
        .publish(
          subjects.heartbeat("brain", this.brainId),
          encode(HeartbeatV1, {
            v: 1,
            role: "brain",
            id: this.brainId,
            at: this.now(),
            version: this.opts.version,
            intervalMs: this.opts.intervalMs,
            host: hostname().slice(0, 256),
          }),
        )
        .catch(() => {});
    beat();
    this.timer = setInterval(beat, this.opts.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sub?.stop();
  }

  /** One beat off the bus (the subscription calls it; tests feed it directly with their own clock). */
  receive(data: Uint8Array, subject: string): void {
    if (data.byteLength > MAX_HEARTBEAT_BYTES) {
      this.refuse("invalid", subject, `${data.byteLength} bytes, more than ${MAX_HEARTBEAT_BYTES}`);
      return;
    }
    const d = decode(HeartbeatV1, data);
    if (!d.ok) {
      this.refuse("invalid", subject, d.reason);
      return;
    }
    if (subject !== subjects.heartbeat(d.value.role, d.value.id)) {
      this.refuse("invalid", subject, `the body names ${d.value.role} ${d.value.id}`);
      return;
    }
    const now = this.now();
    const entry: Seen = { ...d.value, subject, receivedAt: now };
    if (d.value.role === "brain" && d.value.id === this.brainId) {
      this.own = entry;
      return;
    }
    this.forget(now);
    const key = `${d.value.role}/${d.value.id}`;
    if (!this.seen.delete(key) && this.seen.size >= this.maxSenders) {
      this.refuse("full", subject, `already ${this.maxSenders} senders`);
      return;
    }
    this.seen.set(key, entry);
  }

  private forget(now: number): void {
    for (const [key, h] of this.seen) {
      if (now - h.receivedAt <= this.forgetMs) break;
      this.seen.delete(key);
    }
  }

  private refuse(why: keyof Heartbeats["dropped"], subject: string, reason: string): void {
    this.dropped[why]++;
    this.unlogged[why]++;
    const now = this.now();
    if (now - this.loggedAt < LOG_EVERY_MS) return;
    this.loggedAt = now;
    this.opts.log.warn(why === "full" ? "heartbeats dropped: too many senders" : "heartbeats skipped: not valid heartbeats", {
      last: { subject: subject.slice(0, 200), reason: reason.slice(0, 200) },
      sinceLastLine: { ...this.unlogged },
    });
    this.unlogged = { full: 0, invalid: 0 };
  }

  /** Senders of a role, the most recently heard first. */
  private senders(role: Heartbeat["role"]): Seen[] {
    this.forget(this.now());
    return [...this.seen.values()].filter((h) => h.role === role).reverse();
  }

  private describe(h: Seen): SenderView {
    const now = this.now();
    return {
      id: h.id,
      role: h.role,
      host: h.host,
      version: h.version,
      running: h.running,
      capacity: h.capacity,
      lastSeenMs: now - h.receivedAt,
      alive: now - h.receivedAt <= h.intervalMs * MISSED,
    };
  }

  /** Health of the workers for GET /api/system/health. */
  workersHealth(edgeWorker: boolean): WorkersHealth {
    const all = this.senders("worker").map((h) => this.describe(h));
    const alive = all.filter((w) => w.alive).length;
    const counts = {
      count: all.length,
      alive,
      workers: all.slice(0, LISTED),
      ...(this.dropped.full || this.dropped.invalid ? { dropped: { ...this.dropped } } : {}),
    };
    if (alive) return { status: "ok", detail: `${alive} worker(s) alive`, ...counts };
    return {
      status: "degraded",
      detail: all.length ? "no worker heartbeat within 3 intervals" : "no worker has sent a heartbeat",
      ...counts,
      fix: edgeWorker ? "the in-process worker is not beating; check the logs" : "start a worker: bakerst-satellite --mode worker (NATS_URL set)",
    };
  }

  brainHealth(): ComponentHealth {
    const others = this.senders("brain")
      .slice(0, LISTED)
      .map((h) => this.describe(h));
    return this.own
      ? { status: "ok", id: this.brainId, lastSeenMs: this.now() - this.own.receivedAt, others }
      : { status: "degraded", id: this.brainId, detail: "own heartbeat has not come back through the bus yet", others };
  }
}
