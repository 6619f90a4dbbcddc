import type { Bus, Consumer, Delivery, WorkQueue } from "../../core/bus/types.ts";
import {
  decode,
  encode,
  HeartbeatV1,
  isFinal,
  type JobDispatch,
  JobDispatchV1,
  JobError,
  type JobLookupReply,
  JobLookupReplyV1,
  JobLookupV1,
  type JobStatusMessage,
  JobStatusV1,
  QUEUES,
  subjects,
} from "../../core/protocol/index.ts";
import { outgoingTraceHeaders, withSpan } from "../../core/telemetry/tracing.ts";
import { type ExecutorConfig, execute } from "./executors/index.ts";

export type WorkerLog = (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

export interface WorkerOptions {
  bus: Bus;
  /** How long a job may go unacked before it is redelivered; working() pushes it out while a job runs. */
  ackWaitMs: number;
  id: string;
  concurrency: number;
  executors: ExecutorConfig;
  version: string;
  heartbeatMs?: number;
  host?: string;
  log?: WorkerLog;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Completed ids remembered to drop redeliveries without asking the bus. */
const RECENT_LIMIT = 10_000;
/** JetStream drops a re-published job id within 2 minutes; older jobs are checked with the core. */
const OUTBOX_SUSPECT_MS = 60_000;
/** How long a worker waits for the core to answer a lookup before it runs the job anyway. */
const LOOKUP_TIMEOUT_MS = 2_000;

/**
 * Pulls jobs from the bus and runs them. The guarantees live here, shared by
 * the satellite and the worker the core hosts in edge mode: a job is acked
 * only after its final status is durably published; while it runs, the ack
 * deadline is pushed out; a job whose final status already exists is not run
 * again; garbage on the queue is logged and dropped.
 */
export class Worker {
  private consumer?: Consumer;
  private jobs: WorkQueue;
  private statuses: WorkQueue;
  private beat?: ReturnType<typeof setInterval>;
  private running = new Map<string, AbortController>();
  private recent = new Set<string>();
  private stopping = false;
  private log: WorkerLog;
  readonly heartbeatMs: number;

  constructor(private opts: WorkerOptions) {
    this.log = opts.log ?? (() => {});
    this.heartbeatMs = opts.heartbeatMs ?? 30_000;
    this.jobs = opts.bus.queue(QUEUES.jobs, { ackWaitMs: opts.ackWaitMs });
    this.statuses = opts.bus.queue(QUEUES.jobStatus, { ackWaitMs: opts.ackWaitMs });
  }

  get active(): number {
    return this.running.size;
  }

  start(): void {
    this.consumer = this.jobs.consume((d) => this.handle(d), { concurrency: this.opts.concurrency });
    void this.heartbeat();
    this.beat = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    this.log("info", "worker started", { id: this.opts.id, concurrency: this.opts.concurrency, bus: this.opts.bus.kind });
  }

  /** Stops taking jobs, lets running ones finish for up to `timeoutMs`, then cancels the rest (they are redelivered). */
  async stop(timeoutMs = 25_000): Promise<void> {
    this.stopping = true;
    if (this.beat) clearInterval(this.beat);
    const drain = this.consumer?.stop(timeoutMs);
    await drain;
    for (const ctl of this.running.values()) ctl.abort(new Error("worker stopping"));
    this.log("info", "worker stopped", { id: this.opts.id, abandoned: this.running.size });
  }

  private async heartbeat(): Promise<void> {
    const hb = {
      v: 1 as const,
      role: "worker" as const,
      id: this.opts.id,
      at: Date.now(),
      version: this.opts.version,
      intervalMs: this.heartbeatMs,
      running: this.running.size,
      capacity: this.opts.concurrency,
      ...(this.opts.host ? { host: this.opts.host.slice(0, 256) } : {}),
    };
    await this.opts.bus.publish(subjects.heartbeat("worker", this.opts.id), encode(HeartbeatV1, hb)).catch(() => {});
  }

  /** Publishes a status, retrying through bus outages; gives up only when the worker is stopping. */
  /** Called inside the job's span: the status carries its trace. */
  private async publish(status: JobStatusMessage, d: Delivery): Promise<boolean> {
    const data = encode(JobStatusV1, status);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.statuses.publish(data, { subject: subjects.jobStatus(status.jobId), headers: outgoingTraceHeaders() });
        return true;
      } catch (err) {
        if (this.stopping && attempt > 3) return false;
        if (attempt % 10 === 0) this.log("warn", "status publish failed; retrying", { jobId: status.jobId, status: status.status, error: (err as Error).message });
        await d.working().catch(() => {});
        await sleep(Math.min(2_000, 100 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  /** What the core knows of a job; undefined when it cannot say (down, slow), and then the job runs: running twice beats never running. */
  private async lookup(jobId: string): Promise<JobLookupReply | undefined> {
    try {
      const data = await this.opts.bus.request(subjects.jobLookup(), encode(JobLookupV1, { v: 1, jobId }), { timeoutMs: LOOKUP_TIMEOUT_MS });
      const r = decode(JobLookupReplyV1, data);
      return r.ok && r.value.jobId === jobId ? r.value : undefined;
    } catch (err) {
      this.log("warn", "could not ask the core about the job", { jobId, error: (err as Error).message });
      return undefined;
    }
  }

  private async alreadyFinal(jobId: string): Promise<boolean> {
    if (this.recent.has(jobId)) return true;
    const known = await this.lookup(jobId);
    return !!known?.status && isFinal(known.status);
  }

  /** True when the job went on to a later delivery, or is already final. */
  private async leaseLost(jobId: string, attempt: number): Promise<boolean> {
    const known = await this.lookup(jobId);
    return !!known && (known.attempts > attempt || (!!known.status && isFinal(known.status)));
  }

  private remember(jobId: string) {
    this.recent.add(jobId);
    if (this.recent.size > RECENT_LIMIT) this.recent.delete(this.recent.values().next().value!);
  }

  private async handle(d: Delivery): Promise<void> {
    const decoded = decode(JobDispatchV1, d.data);
    if (!decoded.ok) {
      this.log("warn", "skipping a job message that fails its schema", { reason: decoded.reason, bytes: d.data.byteLength });
      await d.term(`invalid job message: ${decoded.reason}`);
      return;
    }
    const job: JobDispatch = decoded.value;
    // The job's span continues the trace of whoever dispatched it; statuses carry it back.
    const attributes = {
      "messaging.system": this.opts.bus.kind,
      "bakerst.job.id": job.id,
      "bakerst.job.type": job.job.type,
      "bakerst.worker.id": this.opts.id,
      "bakerst.job.attempt": d.deliveryCount,
    };
    return withSpan(`job.run ${job.job.type}`, { kind: "consumer", parent: d.headers.traceparent ?? null, attributes }, () => this.run(d, job));
  }

  private async run(d: Delivery, job: JobDispatch): Promise<void> {
    if (this.running.has(job.id)) {
      // A redelivery of a job this worker is still running: the running copy acks it.
      return;
    }
    // Only a redelivery, or a job old enough that the core's outbox may have published it twice
    // (beyond JetStream's duplicate window), can have a final status already; a fresh
    // first delivery skips the lookup.
    const mayBeDone = d.redelivered || this.recent.has(job.id) || Date.now() - job.createdAt > OUTBOX_SUSPECT_MS;
    if (mayBeDone && (await this.alreadyFinal(job.id))) {
      this.log("info", "job already finished; dropping the redelivery", { jobId: job.id, delivery: d.deliveryCount });
      this.remember(job.id);
      await d.ack();
      return;
    }
    const deliveredAt = Date.now();
    const ctl = new AbortController();
    this.running.set(job.id, ctl);
    const base = { v: 1 as const, jobId: job.id, workerId: this.opts.id, attempt: d.deliveryCount };
    const ackWait = this.opts.ackWaitMs;
    let reportedAt = Number.POSITIVE_INFINITY;
    const keepalive = setInterval(
      () => {
        void d.working().catch(() => {});
        // The core lets another delivery take the job over once this worker has been silent for an ack wait:
        // a long job repeats its `running` status to keep holding it.
        if (Date.now() - reportedAt >= ackWait / 2) {
          reportedAt = Date.now();
          void this.statuses
            .publish(encode(JobStatusV1, { ...base, status: "running", at: reportedAt }), { subject: subjects.jobStatus(job.id), headers: outgoingTraceHeaders() })
            .catch(() => {});
        }
      },
      Math.max(200, Math.floor(ackWait / 3)),
    );
    try {
      // Both go out on one connection, so the stream keeps their order (and before the final status); the job starts meanwhile.
      const announced = Promise.all([this.publish({ ...base, status: "received", at: Date.now() }, d), this.publish({ ...base, status: "running", at: Date.now() }, d)]);
      const signal = AbortSignal.any([ctl.signal, AbortSignal.timeout(job.timeoutMs)]);
      const outcome = execute(job, this.opts.executors, signal).then(
        (out) => ({ ok: true as const, out }),
        (err: unknown) => ({ ok: false as const, err }),
      );
      await announced;
      reportedAt = Date.now();
      if (Date.now() - deliveredAt > this.opts.ackWaitMs && (await this.leaseLost(job.id, d.deliveryCount))) {
        // The statuses took longer than the ack wait (bus outage): the job went to another worker.
        ctl.abort(new Error("lease lost"));
        await outcome;
        this.log("warn", "lease lost while the bus was down; leaving the job to its newer delivery", { jobId: job.id });
        return;
      }
      const r = await outcome;
      let final: JobStatusMessage;
      if (r.ok) {
        final = { ...base, status: "completed", at: Date.now(), result: r.out.result, ...(r.out.usage ? { usage: r.out.usage } : {}) };
      } else {
        const e = r.err instanceof JobError ? r.err : new JobError("internal", (r.err as Error)?.message ?? String(r.err));
        if (ctl.signal.aborted && this.stopping) {
          // Cancelled by shutdown, not failed: leave it unacked for another worker.
          this.log("info", "job abandoned on shutdown; it will be redelivered", { jobId: job.id });
          return;
        }
        final = { ...base, status: "failed", at: Date.now(), error: e.toWire(), ...(e.result !== undefined ? { result: e.result } : {}) };
      }
      if (await this.publish(final, d)) {
        this.remember(job.id);
        await d.ack();
        this.log("debug", "job finished", { jobId: job.id, status: final.status });
      }
    } finally {
      clearInterval(keepalive);
      this.running.delete(job.id);
    }
  }
}
