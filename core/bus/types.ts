/**
 * The one seam between edge and cluster mode, given to every area. The
 * in-process bus (SQLite) and the NATS JetStream bus both implement it and
 * pass the same contract suite. Payloads are bytes: decoding and schema
 * checks happen above, in one place, so garbage reaches the same "log and
 * skip" path on either bus.
 */
import type { KeyedQueueDef, KvDef, QueueDef } from "../protocol/queues.ts";

export type Headers = Record<string, string>;

export interface Delivery {
  subject: string;
  data: Uint8Array;
  headers: Headers;
  /** True when an earlier delivery was not acked in time (or was nak'd). */
  redelivered: boolean;
  /** 1 for the first delivery. */
  deliveryCount: number;
  /** When the bus stored the message (ms since the epoch, by the bus's clock, not the sender's). */
  publishedAt: number;
  ack(): Promise<void>;
  /** Give it back for redelivery after `delayMs`. */
  nak(delayMs?: number): Promise<void>;
  /** Drop it for good (poison message). */
  term(reason: string): Promise<void>;
  /** Still working: pushes the ack deadline out by another ack wait. */
  working(): Promise<void>;
}

export interface Consumer {
  /** Stops taking new messages and waits for handlers in flight (up to `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
}

export type Handler = (d: Delivery) => Promise<void>;

export interface PublishOptions {
  /** Which of the queue's subjects (default its first). */
  subject?: string;
  headers?: Headers;
  /** A second publish with the same id (a retried dispatch) is dropped by the bus. */
  dedupeId?: string;
}

export interface ConsumeOptions {
  /**
   * Handlers running at once. Handlers are called in queue order; with more
   * than 1 the next does not wait for the previous one to finish, so a caller
   * can apply a batch in one go (the core's status tracker does).
   */
  concurrency: number;
}

/** A durable work queue: each message goes to one consumer, is redelivered until acked. */
export interface WorkQueue {
  readonly ackWaitMs: number;
  /** Resolves once the message is durably queued. */
  publish(data: Uint8Array, opts?: PublishOptions): Promise<void>;
  consume(handler: Handler, opts: ConsumeOptions): Consumer;
}

/**
 * One durable queue per key (a companion's tasks): messages for a key wait
 * while nobody consumes it, and are dropped once past their expiry.
 */
export interface KeyedQueue {
  publish(key: string, data: Uint8Array, opts?: { headers?: Headers; dedupeId?: string; expiresAt?: number }): Promise<void>;
  consume(key: string, handler: Handler, opts: ConsumeOptions): Consumer;
  /** Makes the key's consumer before its first message, so a consumer that starts first finds it (a newly paired companion). */
  prepare(key: string): Promise<void>;
  /** Drops a key's waiting messages and its consumer (a removed companion). */
  remove(key: string): Promise<void>;
}

export interface Subscription {
  stop(): Promise<void>;
}

export interface KvEntry {
  value: Uint8Array;
  revision: number;
}

/** A small key-value bucket with revisions, for leases: `create` succeeds for one caller only. */
export interface Kv {
  get(key: string): Promise<KvEntry | undefined>;
  put(key: string, value: Uint8Array): Promise<number>;
  /** Fails with KvConflictError when the key exists. */
  create(key: string, value: Uint8Array): Promise<number>;
  /** Fails with KvConflictError unless the key is at `revision`. */
  update(key: string, value: Uint8Array, revision: number): Promise<number>;
  delete(key: string): Promise<void>;
}

export class KvConflictError extends Error {
  override name = "KvConflictError";
  constructor(bucket: string, key: string) {
    super(`${bucket}/${key} was written by someone else first`);
  }
}

export class NoResponderError extends Error {
  override name = "NoResponderError";
  constructor(subject: string) {
    super(`nobody answers on ${subject}`);
  }
}

export interface BusHealth {
  status: "ok" | "degraded" | "down";
  detail: string;
}

export interface Bus {
  readonly kind: "local" | "nats";
  /**
   * Creates or updates what carries a queue (the stream and its consumer).
   * Only the core does this; workers and companions use what it made.
   */
  declare(def: QueueDef, opts: { ackWaitMs: number }): Promise<WorkQueue>;
  /** A queue the core has declared, as a worker uses it. */
  queue(def: QueueDef, opts: { ackWaitMs: number }): WorkQueue;
  keyed(def: KeyedQueueDef, opts: { ackWaitMs: number }): Promise<KeyedQueue>;
  /** Fire and forget (heartbeats, progress, announcements); a missed message is not an error. */
  publish(subject: string, data: Uint8Array, headers?: Headers): Promise<void>;
  /** NATS wildcards (`*` one token, `>` the rest). */
  subscribe(pattern: string, handler: (data: Uint8Array, subject: string, headers: Headers) => void): Subscription;
  /** Rejects with NoResponderError when nobody answers, or a timeout error past `timeoutMs`. */
  request(subject: string, data: Uint8Array, opts: { timeoutMs: number; headers?: Headers }): Promise<Uint8Array>;
  /** Answers requests on `subject` (wildcards allowed: the handler gets the subject asked on); several responders share the load (one answers each request). */
  respond(subject: string, handler: (data: Uint8Array, headers: Headers, subject: string) => Promise<Uint8Array> | Uint8Array): Subscription;
  kv(def: KvDef): Promise<Kv>;
  health(): BusHealth;
  close(): Promise<void>;
}
