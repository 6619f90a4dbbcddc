import type { Database } from "bun:sqlite";
import { EventEmitter } from "node:events";
import type { Bus, BusHealth, Consumer, Delivery, Handler, Headers } from "../../protocol/bus.ts";

const JOBS = "jobs";
const STATUS = "status";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  seq: number;
  data: Uint8Array;
  headers: string;
  deliveries: number;
  created_at: number;
}

/**
 * The Bus in edge mode: queues are rows in the same SQLite file as everything
 * else, so a job queued or in flight when the binary stops is delivered again
 * when it starts. A delivery leases its row until `visible_at`; ack deletes it.
 */
export class LocalBus implements Bus {
  readonly kind = "local";
  private wake = new EventEmitter();
  private heartbeats = new EventEmitter();
  private consumers = new Set<Consumer>();
  private closed = false;
  private q: ReturnType<typeof prepare>;

  constructor(
    private db: Database,
    readonly ackWaitMs = 30_000,
    private now: () => number = Date.now,
  ) {
    this.q = prepare(db);
    this.wake.setMaxListeners(0);
    this.heartbeats.setMaxListeners(0);
    // This bus has one process: whatever the last one had leased is back up for delivery.
    db.query("UPDATE bus_messages SET visible_at = ? WHERE deliveries > 0 AND visible_at > ?").run(this.now(), this.now());
  }

  health(): BusHealth {
    return this.closed ? { status: "down", detail: "closed" } : { status: "ok", detail: "in-process (SQLite)" };
  }

  private publish(queue: string, data: Uint8Array, headers: Headers = {}, dedupeId?: string) {
    if (this.closed) throw new Error("bus is closed");
    this.q.insert.run(queue, data, JSON.stringify(headers), dedupeId ?? null, this.now(), this.now());
    this.wake.emit(queue);
  }

  async publishJob(data: Uint8Array, headers?: Headers, dedupeId?: string): Promise<void> {
    this.publish(JOBS, data, headers, dedupeId);
  }

  async publishStatus(jobId: string, data: Uint8Array, headers?: Headers): Promise<void> {
    this.db.transaction(() => {
      this.publish(STATUS, data, headers);
      this.q.lastStatus.run(jobId, data, this.now());
    })();
  }

  async lastStatus(jobId: string): Promise<Uint8Array | undefined> {
    const row = this.q.getLast.get(jobId) as { data: Uint8Array } | null;
    return row ? new Uint8Array(row.data) : undefined;
  }

  consumeJobs(handler: Handler, opts: { concurrency: number }): Consumer {
    return this.consume(JOBS, handler, Math.max(1, opts.concurrency));
  }

  consumeStatuses(handler: Handler, opts: { inflight?: number } = {}): Consumer {
    return this.consume(STATUS, handler, Math.max(1, opts.inflight ?? 1));
  }

  async publishHeartbeat(subject: string, data: Uint8Array): Promise<void> {
    if (!this.closed) queueMicrotask(() => this.heartbeats.emit("beat", data, subject));
  }

  subscribeHeartbeats(handler: (data: Uint8Array, subject: string) => void): Consumer {
    const fn = (data: Uint8Array, subject: string) => {
      try {
        handler(data, subject);
      } catch {
        // a heartbeat handler's failure must not reach the publisher
      }
    };
    this.heartbeats.on("beat", fn);
    return { stop: async () => void this.heartbeats.off("beat", fn) };
  }

  private take(queue: string, n: number): Row[] {
    return this.db.transaction(() => {
      const now = this.now();
      const rows = this.q.ready.all(queue, now, n) as Row[];
      for (const r of rows) this.q.lease.run(now + this.ackWaitMs, r.seq);
      return rows;
    })();
  }

  private delivery(queue: string, row: Row): Delivery {
    const deliveries = row.deliveries + 1;
    return {
      data: new Uint8Array(row.data),
      headers: JSON.parse(row.headers) as Headers,
      redelivered: deliveries > 1,
      deliveryCount: deliveries,
      publishedAt: row.created_at,
      ack: async () => void this.q.remove.run(row.seq),
      term: async () => void this.q.remove.run(row.seq),
      nak: async (delayMs = 0) => {
        this.q.setVisible.run(this.now() + delayMs, row.seq);
        this.wake.emit(queue);
      },
      working: async () => void this.q.setVisible.run(this.now() + this.ackWaitMs, row.seq),
    };
  }

  /** Waits for a publish on the queue or until the next lease runs out (at most 1 s). */
  private idle(queue: string, stop: Promise<void>): Promise<void> {
    const next = this.q.nextVisible.get(queue) as { at: number | null } | null;
    const wait = next?.at ? Math.min(1_000, Math.max(5, next.at - this.now())) : 1_000;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wake.off(queue, done);
        resolve();
      };
      const t = setTimeout(done, wait);
      this.wake.once(queue, done);
      void stop.then(done);
    });
  }

  private consume(queue: string, handler: Handler, concurrency: number): Consumer {
    let stopping = false;
    let signalStop!: () => void;
    const stopped = new Promise<void>((r) => (signalStop = r));
    const inflight = new Set<Promise<void>>();
    const loop = (async () => {
      while (!stopping && !this.closed) {
        if (inflight.size >= concurrency) {
          await Promise.race([...inflight, stopped]);
          continue;
        }
        const rows = this.take(queue, concurrency - inflight.size);
        if (!rows.length) {
          await this.idle(queue, stopped);
          continue;
        }
        for (const row of rows) {
          const d = this.delivery(queue, row);
          const p: Promise<void> = handler(d)
            .catch(() => d.nak(100))
            .finally(() => inflight.delete(p));
          inflight.add(p);
          // One at a time keeps a queue (statuses) in publish order.
          if (concurrency === 1) await p;
        }
      }
    })();
    const consumer: Consumer = {
      stop: async (timeoutMs = 30_000) => {
        stopping = true;
        signalStop();
        await Promise.race([Promise.all([loop, ...inflight]), sleep(timeoutMs)]);
        this.consumers.delete(consumer);
      },
    };
    this.consumers.add(consumer);
    return consumer;
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.stop(5_000)));
    this.closed = true;
    this.heartbeats.removeAllListeners();
  }
}

function prepare(db: Database) {
  return {
    insert: db.query(
      "INSERT INTO bus_messages (queue, data, headers, dedupe_id, deliveries, visible_at, created_at) VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT DO NOTHING",
    ),
    ready: db.query("SELECT seq, data, headers, deliveries, created_at FROM bus_messages WHERE queue = ? AND visible_at <= ? ORDER BY seq LIMIT ?"),
    lease: db.query("UPDATE bus_messages SET deliveries = deliveries + 1, visible_at = ? WHERE seq = ?"),
    setVisible: db.query("UPDATE bus_messages SET visible_at = ? WHERE seq = ?"),
    remove: db.query("DELETE FROM bus_messages WHERE seq = ?"),
    nextVisible: db.query("SELECT min(visible_at) AS at FROM bus_messages WHERE queue = ?"),
    lastStatus: db.query("INSERT INTO bus_last_status (job_id, data, at) VALUES (?, ?, ?) ON CONFLICT(job_id) DO UPDATE SET data = excluded.data, at = excluded.at"),
    getLast: db.query("SELECT data FROM bus_last_status WHERE job_id = ?"),
  };
}
