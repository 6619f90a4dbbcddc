import type { Database } from "bun:sqlite";
import { EventEmitter } from "node:events";
import { EXPIRES_HEADER, type KeyedQueueDef, type KvDef, type QueueDef } from "../protocol/queues.ts";
import { dropExpired } from "./expiry.ts";
import { subjectMatcher } from "./subject-match.ts";
import {
  type Bus,
  type BusHealth,
  type Consumer,
  type Delivery,
  type Handler,
  type Headers,
  type KeyedQueue,
  type Kv,
  KvConflictError,
  type KvEntry,
  NoResponderError,
  type PublishOptions,
  type Subscription,
  type WorkQueue,
} from "./types.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  seq: number;
  subject: string;
  data: Uint8Array;
  headers: string;
  deliveries: number;
  created_at: number;
}

/**
 * The Bus in edge mode. Durable queues are rows in the same SQLite file as
 * everything else, so a message queued or in flight when the binary stops is
 * delivered again when it starts; a delivery leases its row until
 * `visible_at`, ack deletes it. Publish/subscribe and request/reply stay in
 * the process (there is nobody else to talk to).
 */
export class LocalBus implements Bus {
  readonly kind = "local";
  private wake = new EventEmitter();
  private consumers = new Set<Consumer>();
  private subs = new Set<{ match: (s: string) => boolean; handler: (data: Uint8Array, subject: string, headers: Headers) => void }>();
  private responders: { match: (s: string) => boolean; handler: (data: Uint8Array, headers: Headers, subject: string) => Promise<Uint8Array> | Uint8Array }[] = [];
  private turn = 0;
  private closed = false;
  private q: ReturnType<typeof prepare>;

  constructor(
    private db: Database,
    private now: () => number = Date.now,
    /**
     * Whatever the last process had leased is back up for delivery: it died.
     * Not while another process still runs on the same file (an upgrade):
     * its leases are its jobs in flight.
     */
    recover = true,
  ) {
    this.q = prepare(db);
    this.wake.setMaxListeners(0);
    if (recover) db.query("UPDATE bus_messages SET visible_at = ? WHERE deliveries > 0 AND visible_at > ?").run(this.now(), this.now());
  }

  health(): BusHealth {
    return this.closed ? { status: "down", detail: "closed" } : { status: "ok", detail: "in-process (SQLite)" };
  }

  async declare(def: QueueDef, opts: { ackWaitMs: number }): Promise<WorkQueue> {
    return this.queue(def, opts);
  }

  queue(def: QueueDef, opts: { ackWaitMs: number }): WorkQueue {
    return {
      ackWaitMs: opts.ackWaitMs,
      publish: async (data, p) => this.enqueue(def.name, p?.subject ?? def.subjects[0]!, data, p),
      consume: (handler, c) => this.consume(def.name, opts.ackWaitMs, handler, Math.max(1, c.concurrency)),
    };
  }

  async keyed(def: KeyedQueueDef, opts: { ackWaitMs: number }): Promise<KeyedQueue> {
    const queueOf = (key: string) => `${def.name}/${key}`;
    return {
      publish: async (key, data, p) =>
        this.enqueue(queueOf(key), def.subject(key), data, {
          headers: { ...p?.headers, ...(p?.expiresAt ? { [EXPIRES_HEADER]: String(p.expiresAt) } : {}) },
          ...(p?.dedupeId ? { dedupeId: p.dedupeId } : {}),
        }),
      consume: (key, handler, c) => this.consume(queueOf(key), opts.ackWaitMs, dropExpired(handler, this.now), Math.max(1, c.concurrency)),
      // Rows wait for their key without a consumer: nothing to make.
      prepare: async () => {},
      remove: async (key) => void this.q.purge.run(queueOf(key)),
    };
  }

  private enqueue(queue: string, subject: string, data: Uint8Array, p?: PublishOptions) {
    if (this.closed) throw new Error("bus is closed");
    this.q.insert.run(queue, subject, data, JSON.stringify(p?.headers ?? {}), p?.dedupeId ?? null, this.now(), this.now());
    this.wake.emit(queue);
  }

  async publish(subject: string, data: Uint8Array, headers: Headers = {}): Promise<void> {
    if (this.closed) return;
    queueMicrotask(() => {
      for (const s of this.subs) {
        if (!s.match(subject)) continue;
        try {
          s.handler(data, subject, headers);
        } catch {
          // a subscriber's failure must not reach the publisher
        }
      }
    });
  }

  subscribe(pattern: string, handler: (data: Uint8Array, subject: string, headers: Headers) => void): Subscription {
    const sub = { match: subjectMatcher(pattern), handler };
    this.subs.add(sub);
    return { stop: async () => void this.subs.delete(sub) };
  }

  async request(subject: string, data: Uint8Array, opts: { timeoutMs: number; headers?: Headers }): Promise<Uint8Array> {
    const matching = this.responders.filter((r) => r.match(subject));
    if (this.closed || !matching.length) throw new NoResponderError(subject);
    const r = matching[this.turn++ % matching.length]!;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        Promise.resolve().then(() => r.handler(data, opts.headers ?? {}, subject)),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer on ${subject} within ${opts.timeoutMs} ms`)), opts.timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  respond(subject: string, handler: (data: Uint8Array, headers: Headers, subject: string) => Promise<Uint8Array> | Uint8Array): Subscription {
    const r = { match: subjectMatcher(subject), handler };
    this.responders.push(r);
    return { stop: async () => void (this.responders = this.responders.filter((x) => x !== r)) };
  }

  async kv(def: KvDef): Promise<Kv> {
    const { bucket, ttlMs } = def;
    const live = () => this.now() - ttlMs;
    const get = (key: string): KvEntry | undefined => {
      const row = this.q.kvGet.get(bucket, key, live()) as { value: Uint8Array; revision: number } | null;
      return row ? { value: new Uint8Array(row.value), revision: row.revision } : undefined;
    };
    const write = (key: string, value: Uint8Array, expect: "any" | "absent" | number): number =>
      this.db.transaction(() => {
        const cur = get(key);
        if (expect === "absent" ? cur !== undefined : typeof expect === "number" ? cur?.revision !== expect : false) throw new KvConflictError(bucket, key);
        this.q.kvSweep.run(bucket, live());
        const revision = (this.q.kvMaxRev.get(bucket) as { rev: number | null } | null)?.rev ?? 0;
        this.q.kvPut.run(bucket, key, value, revision + 1, this.now());
        return revision + 1;
      })();
    return {
      get: async (key) => get(key),
      put: async (key, value) => write(key, value, "any"),
      create: async (key, value) => write(key, value, "absent"),
      update: async (key, value, revision) => write(key, value, revision),
      delete: async (key) => void this.q.kvDelete.run(bucket, key),
    };
  }

  private take(queue: string, n: number, ackWaitMs: number): Row[] {
    return this.db.transaction(() => {
      const now = this.now();
      const rows = this.q.ready.all(queue, now, n) as Row[];
      for (const r of rows) this.q.lease.run(now + ackWaitMs, r.seq);
      return rows;
    })();
  }

  private delivery(queue: string, row: Row, ackWaitMs: number): Delivery {
    const deliveries = row.deliveries + 1;
    return {
      subject: row.subject,
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
      working: async () => void this.q.setVisible.run(this.now() + ackWaitMs, row.seq),
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

  private consume(queue: string, ackWaitMs: number, handler: Handler, concurrency: number): Consumer {
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
        const rows = this.take(queue, concurrency - inflight.size, ackWaitMs);
        if (!rows.length) {
          await this.idle(queue, stopped);
          continue;
        }
        for (const row of rows) {
          const d = this.delivery(queue, row, ackWaitMs);
          const p: Promise<void> = handler(d)
            .catch(() => d.nak(100))
            .finally(() => inflight.delete(p));
          inflight.add(p);
          // One at a time keeps a queue in publish order.
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
    this.subs.clear();
    this.responders = [];
  }
}

function prepare(db: Database) {
  return {
    insert: db.query(
      "INSERT INTO bus_messages (queue, subject, data, headers, dedupe_id, deliveries, visible_at, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?) ON CONFLICT DO NOTHING",
    ),
    ready: db.query("SELECT seq, subject, data, headers, deliveries, created_at FROM bus_messages WHERE queue = ? AND visible_at <= ? ORDER BY seq LIMIT ?"),
    lease: db.query("UPDATE bus_messages SET deliveries = deliveries + 1, visible_at = ? WHERE seq = ?"),
    setVisible: db.query("UPDATE bus_messages SET visible_at = ? WHERE seq = ?"),
    remove: db.query("DELETE FROM bus_messages WHERE seq = ?"),
    purge: db.query("DELETE FROM bus_messages WHERE queue = ?"),
    nextVisible: db.query("SELECT min(visible_at) AS at FROM bus_messages WHERE queue = ?"),
    kvGet: db.query("SELECT value, revision FROM bus_kv WHERE bucket = ? AND key = ? AND updated_at >= ?"),
    kvMaxRev: db.query("SELECT max(revision) AS rev FROM bus_kv WHERE bucket = ?"),
    kvPut: db.query(
      "INSERT INTO bus_kv (bucket, key, value, revision, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(bucket, key) DO UPDATE SET value = excluded.value, revision = excluded.revision, updated_at = excluded.updated_at",
    ),
    kvSweep: db.query("DELETE FROM bus_kv WHERE bucket = ? AND updated_at < ?"),
    kvDelete: db.query("DELETE FROM bus_kv WHERE bucket = ? AND key = ?"),
  };
}
