import { EventEmitter } from "node:events";
import type { AuditLog } from "../audit/service.ts";
import type { Bus, Consumer, Delivery, Subscription, WorkQueue } from "../bus/types.ts";
import type { UsageLedger } from "../models/usage.ts";
import {
  decode,
  encode,
  isFinal,
  JobDispatchV1,
  JobLookupReplyV1,
  JobLookupV1,
  type JobSpec,
  type JobStatusMessage,
  JobStatusV1,
  subjects,
  traceHeaders,
} from "../protocol/index.ts";
import type { Logger } from "../telemetry/log.ts";
import { currentSpan, currentTraceId, outgoingTraceHeaders, startSpan, withSpan } from "../telemetry/tracing.ts";
import { newId } from "../util/ids.ts";
import { jobSummary } from "./audit.ts";
import type { JobsSettings } from "./keys.ts";
import { type Applied, type JobRow, type JobStore, type JobView, type NewJob, view } from "./store.ts";

export const AGENT_DEFAULT_TIMEOUT_MS = 300_000;

export interface JobEvent {
  id: string;
  status: JobView["status"];
}

export interface DispatchOptions {
  idempotencyKey?: string;
  conversationId?: string;
  origin?: string;
  traceId?: string;
  /** Who asked, for the audit log: `web` or `api` over HTTP; unset means the agent, from a turn's tool call. */
  actor?: string;
  address?: string;
}

export interface JobQueues {
  /** `bakerst.jobs.dispatch`: the work queue workers pull from. */
  dispatch: WorkQueue;
  /** `bakerst.jobs.status.<id>`: what workers report, in order. */
  statuses: WorkQueue;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * The core's side of jobs: dispatch (row first, then publish, with an outbox
 * for publishes the bus did not confirm), the status tracker, the reaper, and
 * waiting for a result.
 */
export class JobService {
  readonly events = new EventEmitter();
  private tracker?: Consumer;
  private lookup?: Subscription;
  private timers: ReturnType<typeof setInterval>[] = [];
  private stopped = false;

  constructor(
    private deps: {
      store: JobStore;
      bus: Bus;
      queues: JobQueues;
      settings: JobsSettings;
      log: Logger;
      ledger: UsageLedger;
      audit: AuditLog;
      /** WORKER.md as it is now; sent with agent jobs. */
      persona: () => string;
      now?: () => number;
    },
  ) {
    this.events.setMaxListeners(0);
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  start(): void {
    this.tracker = this.deps.queues.statuses.consume((d) => this.onStatus(d), { concurrency: 256 });
    // Workers ask here whether a redelivered job already finished (they may not read the status stream).
    this.lookup = this.deps.bus.respond(subjects.jobLookup(), (data) => this.answerLookup(data));
    const reapEvery = Math.min(5_000, Math.max(250, Math.floor(this.deps.settings.JOB_DEADLINE_GRACE_MS / 4)));
    this.timers.push(setInterval(() => this.reap(), reapEvery));
    this.timers.push(setInterval(() => void this.flushOutbox(), 1_000));
    void this.flushOutbox();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await this.lookup?.stop();
    await this.tracker?.stop(5_000);
  }

  private answerLookup(data: Uint8Array): Uint8Array {
    const q = decode(JobLookupV1, data);
    if (!q.ok) return encode(JobLookupReplyV1, { v: 1, jobId: "invalid", attempts: 0 });
    const row = this.deps.store.row(q.value.jobId);
    return encode(JobLookupReplyV1, { v: 1, jobId: q.value.jobId, attempts: row?.attempts ?? 0, ...(row ? { status: row.status } : {}) });
  }

  private defaultTimeout(spec: JobSpec): number {
    if (spec.timeoutMs) return spec.timeoutMs;
    const j = this.deps.settings;
    return spec.type === "command" ? j.COMMAND_TIMEOUT_MS : spec.type === "http" ? j.HTTP_JOB_TIMEOUT_MS : AGENT_DEFAULT_TIMEOUT_MS;
  }

  /** Queues a job. A repeated idempotency key returns the first job and queues nothing. */
  async dispatch(spec: JobSpec, opts: DispatchOptions = {}): Promise<{ job: JobView; created: boolean }> {
    const { actor = "agent", address, ...rest } = opts;
    const who = { actor, address };
    // Background model work pauses past the daily budget; refuse before queueing.
    if (spec.type === "agent") {
      try {
        this.deps.ledger.assertWithinBudget();
      } catch (err) {
        this.deps.audit.record({ action: "job.refused", outcome: "refused", ...who, detail: { ...jobSummary(spec), origin: opts.origin ?? null, code: "budget_exceeded" } });
        throw err;
      }
    }
    const now = this.now();
    const timeoutMs = this.defaultTimeout(spec);
    const traceId = rest.traceId ?? currentTraceId();
    const { row, created } = await this.createSoon({
      id: newId(),
      spec,
      timeoutMs,
      deadlineAt: now + timeoutMs + this.deps.settings.JOB_DEADLINE_GRACE_MS,
      ...rest,
      ...(traceId ? { traceId } : {}),
      now,
    });
    if (created) {
      this.deps.audit.record({ action: "job.dispatched", outcome: "ok", ...who, target: row.id, detail: { ...jobSummary(spec), origin: opts.origin ?? null } });
      this.emit(row.id, "queued");
      // While the bus is reconnecting the row waits for the outbox instead of holding the caller.
      if (this.deps.bus.health().status === "ok") await this.publish(row.id, spec, timeoutMs, row.createdAt, row.traceId ?? undefined);
    }
    return { job: view(row), created };
  }

  private async publish(id: string, spec: JobSpec, timeoutMs: number, createdAt: number, traceId?: string): Promise<boolean> {
    const msg = {
      v: 1 as const,
      id,
      job: spec,
      timeoutMs,
      createdAt,
      ...(spec.type === "agent" ? { persona: this.deps.persona() } : {}),
    };
    try {
      // From the outbox there is no span around: the job still joins its trace.
      const parent = currentSpan() ?? (traceId ? traceHeaders(traceId).traceparent! : null);
      await withSpan(`job.dispatch ${spec.type}`, { kind: "producer", parent, attributes: { "messaging.system": this.deps.bus.kind, "bakerst.job.id": id } }, () =>
        this.deps.queues.dispatch.publish(encode(JobDispatchV1, msg), { headers: outgoingTraceHeaders(), dedupeId: id }),
      );
      this.markPublished(id);
      return true;
    } catch (err) {
      // The row stays unpublished; the outbox tries again.
      this.deps.log.warn("job publish failed; will retry", { jobId: id, error: (err as Error).message });
      return false;
    }
  }

  private creating: { job: NewJob; resolve: (r: { row: JobRow; created: boolean }) => void; reject: (err: unknown) => void }[] = [];
  /**
   * Group commit: dispatches that arrive in the same event-loop turn are
   * inserted in one transaction (a commit costs more than the insert).
   */
  private createSoon(job: NewJob): Promise<{ row: JobRow; created: boolean }> {
    return new Promise((resolve, reject) => {
      this.creating.push({ job, resolve, reject });
      if (this.creating.length > 1) return;
      setImmediate(() => {
        const batch = this.creating.splice(0);
        try {
          const results = this.deps.store.createMany(batch.map((b) => b.job));
          batch.forEach((b, i) => b.resolve(results[i]!));
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      });
    });
  }

  private published: string[] = [];
  /** Confirmed publishes are marked in one write per event-loop turn; the outbox tolerates the lag. */
  private markPublished(id: string) {
    this.published.push(id);
    if (this.published.length === 1) {
      setImmediate(() => {
        const ids = this.published.splice(0);
        try {
          this.deps.store.markPublished(ids, this.now());
        } catch (err) {
          this.deps.log.warn("could not mark jobs published; the outbox will publish them again", { count: ids.length, error: (err as Error).message });
        }
      });
    }
  }

  private flushing = false;
  private async flushOutbox(): Promise<void> {
    if (this.flushing || this.stopped || this.deps.bus.health().status !== "ok") return;
    this.flushing = true;
    try {
      for (const r of this.deps.store.unpublished(this.now() - 500)) {
        if (!(await this.publish(r.id, r.spec as JobSpec, r.timeoutMs, r.createdAt, r.traceId ?? undefined))) break;
      }
    } finally {
      this.flushing = false;
    }
  }

  private batch: { m: JobStatusMessage; d: Delivery; done: (err?: unknown) => void }[] = [];
  private flushQueued = false;

  /**
   * Statuses arrive in publish order; each is queued and the queue is applied
   * in one transaction on the next turn of the event loop, then acked.
   */
  private onStatus(d: Delivery): Promise<void> {
    const decoded = decode(JobStatusV1, d.data);
    if (!decoded.ok) {
      this.deps.log.warn("skipping a job status that fails its schema", { reason: decoded.reason, bytes: d.data.byteLength });
      return d.term(decoded.reason);
    }
    return new Promise<void>((resolve, reject) => {
      this.batch.push({ m: decoded.value, d, done: (err) => (err ? reject(err) : resolve()) });
      if (!this.flushQueued) {
        this.flushQueued = true;
        setImmediate(() => this.flushStatuses());
      }
    });
  }

  private flushStatuses(): void {
    this.flushQueued = false;
    const batch = this.batch.splice(0);
    if (!batch.length) return;
    let results: Applied[];
    try {
      results = this.deps.store.applyMany(
        batch.map((b) => ({ m: b.m, storedAt: b.d.publishedAt })),
        this.now(),
        this.deps.settings.JOB_ACK_WAIT_MS,
      );
    } catch (err) {
      // Unacked, so the bus delivers them again.
      this.deps.log.error("could not store job statuses", { count: batch.length, error: (err as Error).message });
      for (const b of batch) b.done(err);
      return;
    }
    batch.forEach(({ m, d, done }, i) => {
      const r = results[i]!;
      if (!r.known) {
        this.deps.log.warn("status for a job this core does not know; skipped", { jobId: m.jobId, status: m.status });
      } else if (r.refused) {
        this.deps.log.warn("status from a worker that does not hold the job; kept in the history, not applied", {
          jobId: m.jobId,
          status: m.status,
          workerId: m.workerId,
          attempt: m.attempt,
          reason: r.refused,
        });
      } else if (r.applied && r.row) {
        if (isFinal(m.status) && m.usage && !m.usage.recorded) {
          // A remote worker's model usage is recorded here, like the brain's.
          const { model, provider, recorded: _, ...usage } = m.usage;
          try {
            this.deps.ledger.record({ role: "worker", provider, model, usage, ...(r.row.conversationId ? { conversationId: r.row.conversationId } : {}) });
          } catch (err) {
            this.deps.log.warn("could not record worker usage", { jobId: m.jobId, error: (err as Error).message });
          }
        }
        if (m.status === "failed" && (m.error?.code === "refused" || m.error?.code === "invalid_job")) {
          const detail = { ...jobSummary(r.row.spec as JobSpec), origin: r.row.origin, code: m.error.code };
          this.deps.audit.record({ action: "job.refused", outcome: "refused", actor: `worker:${m.workerId}`, target: m.jobId, detail });
        }
        // The way back from the worker, in the job's trace.
        if (isFinal(m.status) && d.headers.traceparent) {
          startSpan(`job.${m.status}`, { kind: "consumer", parent: d.headers.traceparent, attributes: { "bakerst.job.id": m.jobId, "bakerst.worker.id": m.workerId } }).end();
        }
        this.emit(m.jobId, r.row.status);
      }
      d.ack().then(() => done(), done);
    });
  }

  private emit(id: string, status: JobView["status"]) {
    const ev: JobEvent = { id, status };
    this.events.emit(`job:${id}`, ev);
    this.events.emit("job", ev);
  }

  reap(): JobView[] {
    const failed = this.deps.store.reap(this.now());
    for (const r of failed) {
      this.deps.log.warn("job passed its deadline; failed", { jobId: r.id, error: (r.error as { message?: string })?.message });
      this.emit(r.id, "failed");
    }
    return failed.map(view);
  }

  /**
   * Waits for a final status, checking the store with backoff (and waking on
   * each status event) up to `timeoutMs`; reports each status change it sees.
   */
  async waitFor(id: string, timeoutMs: number, onChange?: (ev: JobEvent) => void, signal?: AbortSignal): Promise<JobView | undefined> {
    const until = this.now() + timeoutMs;
    let last: string | undefined;
    let delay = 25;
    for (;;) {
      const job = this.deps.store.get(id);
      if (!job) return undefined;
      if (job.status !== last) {
        last = job.status;
        onChange?.({ id, status: job.status });
      }
      const left = until - this.now();
      if (isFinal(job.status) || left <= 0 || signal?.aborted) return job;
      const step = new AbortController();
      const wake = () => step.abort();
      this.events.once(`job:${id}`, wake);
      await sleep(Math.min(delay, left), signal ? AbortSignal.any([step.signal, signal]) : step.signal);
      this.events.off(`job:${id}`, wake);
      delay = Math.min(1_000, delay * 2);
    }
  }
}
