/**
 * The Bus over NATS JetStream (cluster mode). Core and satellites both speak
 * it, so it lives with the protocol; it is a separate entry point so importing
 * the schemas never pulls in the NATS client.
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import { connect, headers as natsHeaders, millis, nanos, type Authenticator, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import type { Bus, BusHealth, Consumer, Delivery, Handler, Headers } from "./bus.ts";
import { awaitConsumer } from "./nats-connect.ts";
import { JOBS_CONSUMER, JOBS_STREAM, STATUS_CONSUMER, STATUS_STREAM, subjects } from "./subjects.ts";

export interface NatsBusOptions {
  url: string;
  /** From the credentials file (natsAuthenticator in nats-connect.ts). */
  authenticator?: Authenticator;
  /** Where replies come back; the identity may subscribe only under it (permissions.ts inboxPrefix). */
  inboxPrefix?: string;
  /**
   * True (the core): create or update streams and consumers. False (a worker):
   * wait for the job consumer the core made and take its ack wait.
   */
  manageTopology?: boolean;
  /** Connection name shown by the server (`bakerst-core`, `bakerst-worker-<id>`). */
  name: string;
  ackWaitMs?: number;
  /** How long statuses stay in their stream for a core to catch up. */
  statusMaxAgeMs?: number;
  /** Wait for the server on first connect instead of failing. */
  waitOnFirstConnect?: boolean;
  log?: (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
}

const DEFAULT_ACK_WAIT_MS = 30_000;
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

export class NatsBus implements Bus {
  readonly kind = "nats";
  private state: BusHealth = { status: "ok", detail: "connected" };
  private consumers = new Set<Consumer>();

  private constructor(
    readonly nc: NatsConnection,
    private jsm: JetStreamManager,
    private js: JetStreamClient,
    readonly ackWaitMs: number,
    private log: NonNullable<NatsBusOptions["log"]>,
  ) {
    void this.watch();
    void nc.closed().then(() => (this.state = { status: "down", detail: "connection closed" }));
  }

  static async open(opts: NatsBusOptions): Promise<NatsBus> {
    const log = opts.log ?? (() => {});
    const nc = await connect({
      servers: opts.url,
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: opts.waitOnFirstConnect ?? false,
      ...(opts.authenticator ? { authenticator: opts.authenticator } : {}),
      ...(opts.inboxPrefix ? { inboxPrefix: opts.inboxPrefix } : {}),
    });
    try {
      const jsm = await jetstreamManager(nc);
      let ackWaitMs = opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
      if (opts.manageTopology === false) ackWaitMs = millis((await awaitConsumer(jsm, JOBS_STREAM, JOBS_CONSUMER, log)).config.ack_wait ?? nanos(ackWaitMs));
      else await ensureTopology(jsm, ackWaitMs, opts.statusMaxAgeMs ?? 7 * 86_400_000);
      return new NatsBus(nc, jsm, jetstream(nc), ackWaitMs, log);
    } catch (err) {
      await nc.close();
      throw err;
    }
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

  async publishJob(data: Uint8Array, headers?: Headers, dedupeId?: string): Promise<void> {
    await this.js.publish(subjects.jobDispatch(), data, { headers: fromHeaders(headers), ...(dedupeId ? { msgID: dedupeId } : {}), timeout: 5_000 });
  }

  async publishStatus(jobId: string, data: Uint8Array, headers?: Headers): Promise<void> {
    await this.js.publish(subjects.jobStatus(jobId), data, { headers: fromHeaders(headers), timeout: 5_000 });
  }

  async lastStatus(jobId: string): Promise<Uint8Array | undefined> {
    const m = await this.jsm.streams.getMessage(STATUS_STREAM, { last_by_subj: subjects.jobStatus(jobId) });
    return m?.data;
  }

  consumeJobs(handler: Handler, opts: { concurrency: number }): Consumer {
    // Buffer no more jobs than can run: a buffered job's ack deadline is already ticking.
    return this.consume(JOBS_STREAM, JOBS_CONSUMER, handler, opts.concurrency, Math.max(1, opts.concurrency));
  }

  consumeStatuses(handler: Handler, opts: { inflight?: number } = {}): Consumer {
    const inflight = Math.max(1, opts.inflight ?? 1);
    return this.consume(STATUS_STREAM, STATUS_CONSUMER, handler, inflight, Math.max(500, inflight));
  }

  async publishHeartbeat(subject: string, data: Uint8Array): Promise<void> {
    if (!this.nc.isClosed()) this.nc.publish(subject, data);
  }

  subscribeHeartbeats(handler: (data: Uint8Array, subject: string) => void): Consumer {
    const sub = this.nc.subscribe(subjects.heartbeatAll(), {
      callback: (err, msg) => {
        if (err) return;
        try {
          handler(msg.data, msg.subject);
        } catch (e) {
          this.log("warn", "heartbeat handler failed", { error: (e as Error).message });
        }
      },
    });
    return { stop: async () => sub.unsubscribe() };
  }

  /**
   * Pulls with at most `concurrency` handlers running; re-creates the pull
   * after errors (server restarts, consumer briefly missing) until stopped.
   */
  private consume(stream: string, durable: string, handler: Handler, concurrency: number, buffer: number): Consumer {
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
      while (!stopping) {
        try {
          const c = await this.js.consumers.get(stream, durable);
          const messages = await c.consume({ max_messages: buffer, idle_heartbeat: 1_000, expires: 5_000 });
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
          this.log("warn", "consumer interrupted; retrying", { stream, durable, error: (err as Error).message });
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

/** Creates or updates streams and consumers; safe to run from every process at every start. */
export async function ensureTopology(jsm: JetStreamManager, ackWaitMs: number, statusMaxAgeMs: number) {
  await upsertStream(jsm, {
    name: JOBS_STREAM,
    subjects: [subjects.jobDispatch()],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: nanos(120_000),
  });
  await upsertStream(jsm, {
    name: STATUS_STREAM,
    subjects: [subjects.jobStatusAll()],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(statusMaxAgeMs),
    max_msgs_per_subject: 32,
  });
  await upsertConsumer(jsm, JOBS_STREAM, {
    durable_name: JOBS_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(ackWaitMs),
    max_deliver: -1,
    max_ack_pending: 10_000,
  });
  await upsertConsumer(jsm, STATUS_STREAM, {
    durable_name: STATUS_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(30_000),
    max_deliver: -1,
    max_ack_pending: 1_000,
  });
}
