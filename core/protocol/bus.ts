/**
 * The one seam between edge and cluster mode. The in-process bus (SQLite) and
 * the NATS JetStream bus both implement it and pass the same contract tests.
 * Payloads are bytes: decoding and schema checks happen above, in one place,
 * so garbage reaches the same "log and skip" path on either bus.
 */
export type Headers = Record<string, string>;

export interface Delivery {
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

export interface BusHealth {
  status: "ok" | "degraded" | "down";
  detail: string;
}

export interface Bus {
  readonly kind: "local" | "nats";
  /** How long a delivery may stay unacked before it is redelivered. */
  readonly ackWaitMs: number;
  /**
   * Resolves once the job is durably queued. A second publish with the same
   * `dedupeId` (a retried dispatch) is dropped by the bus.
   */
  publishJob(data: Uint8Array, headers?: Headers, dedupeId?: string): Promise<void>;
  /** Shared work queue: each job goes to one consumer; at most `concurrency` handlers run at once. */
  consumeJobs(handler: Handler, opts: { concurrency: number }): Consumer;
  /** Resolves once the status is durably stored. */
  publishStatus(jobId: string, data: Uint8Array, headers?: Headers): Promise<void>;
  /**
   * Durable; handlers are called in publish order. With `inflight` above 1 the
   * next call does not wait for the previous one to finish, so a caller can
   * apply a batch in one go (the core's status tracker does).
   */
  consumeStatuses(handler: Handler, opts?: { inflight?: number }): Consumer;
  /** The last status published for a job, for dedupe of redelivered jobs. */
  lastStatus(jobId: string): Promise<Uint8Array | undefined>;
  /** Fire and forget; a missed heartbeat is not an error. */
  publishHeartbeat(subject: string, data: Uint8Array): Promise<void>;
  subscribeHeartbeats(handler: (data: Uint8Array, subject: string) => void): Consumer;
  health(): BusHealth;
  close(): Promise<void>;
}
