/**
 * The Bus over NATS JetStream (cluster mode). Core, workers and companions
 * all speak it; importing the protocol's schemas never pulls in this file (and
 * so the NATS client) — it is loaded only where NATS is used.
 */
import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg, jetstream, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { type Authenticator, connect, type MsgHdrs, millis, type NatsConnection, nanos, headers as natsHeaders } from "@nats-io/transport-node";
import { EXPIRES_HEADER, type KeyedQueueDef, type KvDef, type QueueDef } from "../protocol/queues.ts";
import { dropExpired } from "./expiry.ts";
import { awaitConsumer } from "./nats-connect.ts";
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
  NoResponderError,
  type Subscription,
  type WorkQueue,
} from "./types.ts";

export interface NatsBusOptions {
  url: string;
  /** How this identity proves who it is (nkey seed or creds file); see `bakerst nats init`. */
  authenticator?: Authenticator;
  /** Replies to this identity come on `<prefix>.>`, so no other identity may read them. */
  inboxPrefix?: string;
  /** Connection name shown by the server (`bakerst-core`, `bakerst-worker-<id>`). */
  name: string;
  /** How long to wait before each reconnect attempt (default 250 ms plus the client's jitter); a companion backs off further. */
  reconnectDelayMs?: () => number;
  /** Wait for the server on first connect instead of failing. */
  waitOnFirstConnect?: boolean;
  log?: (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function toHeaders(h: MsgHdrs | undefined): Headers {
  const out: Headers = {};
  if (!h) return out;
  for (const [k, v] of h) if (v[0] !== undefined) out[k.toLowerCase()] = v[0];
  return out;
}

function fromHeaders(h: Headers | undefined): MsgHdrs | undefined {
  if (!h || !Object.keys(h).length) return undefined;
  const out = natsHeaders();
  for (const [k, v] of Object.entries(h)) out.set(k, v);
  return out;
}

function wrap(m: JsMsg): Delivery {
  return {
    subject: m.subject,
    data: m.data,
    headers: toHeaders(m.headers),
    redelivered: m.redelivered,
    deliveryCount: m.info.deliveryCount,
    publishedAt: m.time.getTime(),
    ack: async () => m.ack(),
    nak: async (delayMs) => m.nak(delayMs),
    // On a work-queue stream only an ack removes the message; a poison message is acked away (the caller logs why).
    term: async () => m.ack(),
    working: async () => m.working(),
  };
}

/** JetStream's "wrong last sequence": someone else wrote the key first. */
const isSequenceConflict = (err: unknown) => /wrong last sequence|key exists/i.test(String((err as Error)?.message ?? ""));

export class NatsBus implements Bus {
  readonly kind = "nats";
  private state: BusHealth = { status: "ok", detail: "connected" };
  private consumers = new Set<Consumer>();
  private subs = new Set<Subscription>();
  private jsm?: Promise<JetStreamManager>;

  private constructor(
    readonly nc: NatsConnection,
    private js: JetStreamClient,
    private log: NonNullable<NatsBusOptions["log"]>,
  ) {
    void this.watch();
    void nc.closed().then(() => (this.state = { status: "down", detail: "connection closed" }));
  }

  static async open(opts: NatsBusOptions): Promise<NatsBus> {
    const nc = await connect({
      servers: opts.url,
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: opts.waitOnFirstConnect ?? false,
      ...(opts.authenticator ? { authenticator: opts.authenticator } : {}),
      ...(opts.inboxPrefix ? { inboxPrefix: opts.inboxPrefix } : {}),
      ...(opts.reconnectDelayMs ? { reconnectDelayHandler: opts.reconnectDelayMs } : {}),
    });
    return new NatsBus(nc, jetstream(nc), opts.log ?? (() => {}));
  }

  /** Stream administration; only the core calls what needs it, so workers never ask for the rights. */
  private manager(): Promise<JetStreamManager> {
    this.jsm ??= jetstreamManager(this.nc);
    return this.jsm;
  }

  private async watch() {
    for await (const s of this.nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnecting") {
        if (this.state.status === "ok") this.log("warn", "NATS connection lost; reconnecting", { server: String((s as { server?: string }).server ?? "") });
        this.state = { status: "degraded", detail: "reconnecting to NATS" };
      } else if (s.type === "reconnect") {
        this.log("info", "NATS connection restored");
        this.state = { status: "ok", detail: "connected" };
      }
    }
    this.state = { status: "down", detail: "connection closed" };
  }

  /** Kept up to date by watch(); called on every dispatch, so it only reads a field. */
  health(): BusHealth {
    return this.state;
  }

  async declare(def: QueueDef, opts: { ackWaitMs: number }): Promise<WorkQueue> {
    const jsm = await this.manager();
    await upsertStream(jsm, {
      name: def.stream,
      subjects: [...def.subjects],
      retention: def.retention === "workqueue" ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
      storage: StorageType.File,
      ...(def.duplicateWindowMs ? { duplicate_window: nanos(def.duplicateWindowMs) } : {}),
      ...(def.maxAgeMs ? { max_age: nanos(def.maxAgeMs) } : {}),
      ...(def.maxPerSubject ? { max_msgs_per_subject: def.maxPerSubject } : {}),
    });
    await upsertConsumer(jsm, def.stream, {
      durable_name: def.consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(opts.ackWaitMs),
      max_deliver: -1,
      max_ack_pending: 10_000,
    });
    return this.queue(def, opts);
  }

  /**
   * The ack wait of a queue the core declared, for a client that may not
   * declare it (a worker): waits until the core has made its consumer.
   */
  async ackWaitOf(def: QueueDef): Promise<number> {
    const info = await awaitConsumer(await this.manager(), def.stream, def.consumer, this.log);
    return millis(info.config.ack_wait ?? nanos(30_000));
  }

  queue(def: QueueDef, opts: { ackWaitMs: number }): WorkQueue {
    return {
      ackWaitMs: opts.ackWaitMs,
      publish: async (data, p) => {
        await this.js.publish(p?.subject ?? def.subjects[0]!, data, { headers: fromHeaders(p?.headers), ...(p?.dedupeId ? { msgID: p.dedupeId } : {}), timeout: 5_000 });
      },
      // Buffer no more than can run: a buffered message's ack deadline is already ticking.
      consume: (handler, c) => this.consume(def.stream, def.consumer, handler, Math.max(1, c.concurrency)),
    };
  }

  async keyed(def: KeyedQueueDef, opts: { ackWaitMs: number }): Promise<KeyedQueue> {
    const jsm = await this.manager().catch(() => undefined);
    // The core creates the stream; a companion only uses it (it may lack the rights to look).
    if (jsm && !(await jsm.streams.info(def.stream).catch(() => undefined))) {
      await jsm.streams.add({ name: def.stream, subjects: [def.all], retention: RetentionPolicy.Workqueue, storage: StorageType.File }).catch(() => undefined);
    }
    const ensureConsumer = async (key: string) => {
      const m = await this.manager();
      await upsertConsumer(m, def.stream, {
        durable_name: def.consumer(key),
        filter_subject: def.subject(key),
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(opts.ackWaitMs),
        max_deliver: -1,
        max_ack_pending: 1_000,
      });
    };
    return {
      publish: async (key, data, p) => {
        const headers = { ...p?.headers, ...(p?.expiresAt ? { [EXPIRES_HEADER]: String(p.expiresAt) } : {}) };
        // The key's consumer exists before its first message, so the message waits for it.
        await ensureConsumer(key).catch(() => undefined);
        await this.js.publish(def.subject(key), data, { headers: fromHeaders(headers), ...(p?.dedupeId ? { msgID: p.dedupeId } : {}), timeout: 5_000 });
      },
      consume: (key, handler, c) => this.consume(def.stream, def.consumer(key), dropExpired(handler, Date.now), Math.max(1, c.concurrency)),
      prepare: ensureConsumer,
      remove: async (key) => {
        const m = await this.manager();
        await m.consumers.delete(def.stream, def.consumer(key)).catch(() => undefined);
        await m.streams.purge(def.stream, { filter: def.subject(key) });
      },
    };
  }

  async publish(subject: string, data: Uint8Array, headers?: Headers): Promise<void> {
    if (!this.nc.isClosed()) this.nc.publish(subject, data, { headers: fromHeaders(headers) });
  }

  subscribe(pattern: string, handler: (data: Uint8Array, subject: string, headers: Headers) => void): Subscription {
    const sub = this.nc.subscribe(pattern, {
      callback: (err, msg) => {
        if (err) return;
        try {
          handler(msg.data, msg.subject, toHeaders(msg.headers));
        } catch (e) {
          this.log("warn", "subscriber failed", { subject: msg.subject, error: (e as Error).message });
        }
      },
    });
    return this.track({ stop: async () => sub.unsubscribe() });
  }

  async request(subject: string, data: Uint8Array, opts: { timeoutMs: number; headers?: Headers }): Promise<Uint8Array> {
    try {
      const m = await this.nc.request(subject, data, { timeout: opts.timeoutMs, headers: fromHeaders(opts.headers) });
      return m.data;
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      if ((cause as Error)?.name === "NoRespondersError" || /no responders/i.test(String((err as Error).message))) throw new NoResponderError(subject);
      throw err;
    }
  }

  respond(subject: string, handler: (data: Uint8Array, headers: Headers, subject: string) => Promise<Uint8Array> | Uint8Array): Subscription {
    // A queue group: with two cores (an upgrade) one of them answers each request.
    const sub = this.nc.subscribe(subject, {
      queue: "bakerst-responders",
      callback: (err, msg) => {
        if (err) return;
        void Promise.resolve()
          .then(() => handler(msg.data, toHeaders(msg.headers), msg.subject))
          .then(
            (reply) => msg.respond(reply),
            (e) => this.log("warn", "responder failed", { subject, error: (e as Error).message }),
          );
      },
    });
    return this.track({ stop: async () => sub.unsubscribe() });
  }

  async kv(def: KvDef): Promise<Kv> {
    const kvm = new Kvm(this.js);
    const kv = await kvm.create(def.bucket, { ttl: def.ttlMs, history: 1 }).catch(() => kvm.open(def.bucket));
    const guard = async <T>(key: string, op: () => Promise<T>): Promise<T> => {
      try {
        return await op();
      } catch (err) {
        if (isSequenceConflict(err)) throw new KvConflictError(def.bucket, key);
        throw err;
      }
    };
    return {
      get: async (key) => {
        const e = await kv.get(key);
        return e && e.operation === "PUT" ? { value: e.value, revision: e.revision } : undefined;
      },
      put: (key, value) => kv.put(key, value),
      create: (key, value) => guard(key, () => kv.create(key, value)),
      update: (key, value, revision) => guard(key, () => kv.update(key, value, revision)),
      delete: (key) => kv.delete(key),
    };
  }

  private track(s: Subscription): Subscription {
    this.subs.add(s);
    return {
      stop: async () => {
        this.subs.delete(s);
        await s.stop();
      },
    };
  }

  /**
   * Pulls with at most `concurrency` handlers running; re-creates the pull
   * after errors (server restarts, consumer briefly missing) until stopped.
   */
  private consume(stream: string, durable: string, handler: Handler, concurrency: number): Consumer {
    let stopping = false;
    let current: { stop(): void } | undefined;
    const inflight = new Set<Promise<void>>();
    const run = (m: JsMsg) => {
      const p: Promise<void> = handler(wrap(m))
        .catch((err) => this.log("error", "message handler failed", { stream, error: (err as Error).message }))
        .finally(() => inflight.delete(p));
      inflight.add(p);
      return p;
    };
    const loop = (async () => {
      let warned = false;
      while (!stopping) {
        try {
          const c = await this.js.consumers.get(stream, durable);
          warned = false;
          const messages = await c.consume({ max_messages: concurrency > 1 ? Math.max(concurrency, 1) : 1, idle_heartbeat: 1_000, expires: 5_000 });
          current = messages;
          if (stopping) messages.stop();
          for await (const m of messages) {
            if (stopping) {
              m.nak();
              continue;
            }
            if (concurrency <= 1) {
              await run(m);
              continue;
            }
            while (inflight.size >= concurrency) await Promise.race(inflight);
            void run(m);
          }
        } catch (err) {
          if (stopping || this.nc.isClosed()) break;
          // A worker that starts before the core has declared the queue waits for it.
          if (!warned) this.log("warn", "consumer not available yet; retrying", { stream, durable, error: (err as Error).message });
          warned = true;
          await sleep(250);
        }
        if (this.nc.isClosed()) break;
      }
    })();
    const consumer: Consumer = {
      stop: async (timeoutMs = 30_000) => {
        stopping = true;
        current?.stop();
        const drained = Promise.all([loop, ...inflight]).then(() => undefined);
        await Promise.race([drained, sleep(timeoutMs)]);
        this.consumers.delete(consumer);
      },
    };
    this.consumers.add(consumer);
    return consumer;
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.stop(5_000)));
    await Promise.all([...this.subs].map((s) => s.stop().catch(() => undefined)));
    if (!this.nc.isClosed()) {
      try {
        await this.nc.drain();
      } catch {
        await this.nc.close();
      }
    }
  }
}

async function upsertStream(jsm: JetStreamManager, cfg: Parameters<JetStreamManager["streams"]["add"]>[0] & { name: string }) {
  const existing = await jsm.streams.info(cfg.name).catch(() => undefined);
  if (!existing) await jsm.streams.add(cfg);
  else await jsm.streams.update(cfg.name, { subjects: cfg.subjects, max_age: cfg.max_age, max_msgs_per_subject: cfg.max_msgs_per_subject });
}

async function upsertConsumer(jsm: JetStreamManager, stream: string, cfg: Parameters<JetStreamManager["consumers"]["add"]>[1] & { durable_name: string }) {
  const existing = await jsm.consumers.info(stream, cfg.durable_name).catch(() => undefined);
  if (!existing) await jsm.consumers.add(stream, cfg);
  else await jsm.consumers.update(stream, cfg.durable_name, { ack_wait: cfg.ack_wait, max_ack_pending: cfg.max_ack_pending });
}
