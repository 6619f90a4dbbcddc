/**
 * The core's end of the link to companions, over NATS: tasks go out signed
 * on each companion's durable queue; announcements, heartbeats and task
 * reports come in signed, are opened against the sender's paired key, and
 * each report is acknowledged (signed) once the task's runs have it, so the
 * companion can drop it from its spool. Whatever fails a check is dropped,
 * counted and put in the audit log.
 */
import type { AuditLog } from "../audit/service.ts";
import type { Bus, KeyedQueue, Subscription } from "../bus/types.ts";
import {
  ackContext,
  type CompanionAck,
  CompanionAnnounceV1,
  CompanionHeartbeatV1,
  type CompanionTask,
  check,
  isSignedEnvelope,
  KEYED_QUEUES,
  type LaunchEnd,
  type LaunchedTask,
  type LauncherStatus,
  type LaunchHooks,
  RefusalCounts,
  type SignedRefusal,
  type Signer,
  subjects,
  type TaskLauncher,
  type TaskReport,
  TaskReportV1,
  type TaskRunSpec,
  Verifier,
} from "../protocol/index.ts";
import type { Logger } from "../telemetry/log.ts";
import type { CompanionService } from "./service.ts";

/** After a cancel, how long the core waits for the companion's result before ending the task itself. */
const CANCEL_ANSWER_MS = 15_000;
/** How long a task keeps trying to enter a companion's queue while NATS is away before it fails. */
const SEND_RETRY_MS = 60_000;

interface Pending {
  companion: string;
  hooks: LaunchHooks;
  ended: (end: LaunchEnd) => void;
  timer?: ReturnType<typeof setTimeout>;
}

export interface LinkDeps {
  bus: Bus;
  signer: Signer;
  companions: CompanionService;
  audit: AuditLog;
  log: Logger;
  taskWaitMs: number;
  now: () => number;
}

export class CompanionLink {
  readonly refusals = new RefusalCounts();
  private verifier = new Verifier();
  private subs: Subscription[] = [];
  private queue?: KeyedQueue;
  private pending = new Map<string, Pending>();
  private sweeper?: ReturnType<typeof setInterval>;

  constructor(private d: LinkDeps) {}

  async start(sweepMs: number): Promise<void> {
    this.queue = await this.d.bus.keyed(KEYED_QUEUES.companionTasks, { ackWaitMs: 30_000 });
    this.subs.push(
      this.d.bus.subscribe(subjects.companionAnnounce(), (data, subject) => this.onAnnounce(data, subject)),
      this.d.bus.subscribe(subjects.companionHeartbeatAll(), (data, subject) => this.onHeartbeat(data, subject)),
      this.d.bus.respond(subjects.taskProgressAll(), (data, _headers, subject) => this.onReport(data, subject)),
      this.d.bus.respond(subjects.taskResultAll(), (data, _headers, subject) => this.onReport(data, subject)),
    );
    this.sweeper = setInterval(() => {
      for (const id of this.d.companions.sweep()) this.d.log.warn("companion offline: no heartbeat", { companion: id, lastSeenAt: this.d.companions.lastSeen(id) });
    }, sweepMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    for (const s of this.subs) await s.stop();
    for (const p of this.pending.values()) clearTimeout(p.timer);
  }

  private refuse(reason: SignedRefusal | "schema" | "revoked", kind: string, detail: string, claimed?: string): void {
    this.refusals.add(reason);
    this.d.companions.refused(claimed);
    this.d.log.warn("refused a companion message", { reason, kind, detail: detail.slice(0, 200), ...(claimed ? { companion: claimed } : {}) });
    this.d.audit.record({
      action: "companion.refused",
      outcome: "refused",
      actor: claimed ? `companion:${claimed}` : "unknown",
      ...(claimed ? { target: claimed } : {}),
      detail: { reason, kind },
    });
  }

  /** Opens an envelope only a paired companion's key may have signed; a revoked key is named as such. */
  private open(data: Uint8Array, context: string, kind: string, expect?: string) {
    const opened = this.verifier.open(data, context, (key) => (expect ? this.d.companions.keyOf(expect) === key : this.d.companions.idOfKey(key) !== undefined));
    if (!opened.ok) {
      const signer = signerOf(data);
      const revoked = signer && this.d.companions.isRevokedKey(signer);
      this.refuse(revoked ? "revoked" : opened.reason, kind, opened.detail, expect ?? (signer ? this.d.companions.idOfKey(signer) : undefined));
      return undefined;
    }
    return opened;
  }

  private onAnnounce(data: Uint8Array, subject: string): void {
    const opened = this.open(data, subject, "announce");
    if (!opened) return;
    const id = this.d.companions.idOfKey(opened.signer)!;
    const m = check(CompanionAnnounceV1, opened.body);
    if (!m.ok || m.value.id !== id) {
      this.refuse("schema", "announce", m.ok ? `announced as ${m.value.id}, signed by ${id}` : m.reason, id);
      return;
    }
    this.d.companions.seen(id, { info: m.value });
    this.d.log.info("companion announced", {
      companion: id,
      hostname: m.value.hostname,
      version: m.value.version,
      sandbox: m.value.capabilities.sandbox,
      active: m.value.active.length,
    });
  }

  private onHeartbeat(data: Uint8Array, subject: string): void {
    const id = subject.split(".")[2]!;
    const opened = this.open(data, subject, "heartbeat", id);
    if (!opened) return;
    const m = check(CompanionHeartbeatV1, opened.body);
    if (!m.ok || m.value.id !== id) {
      this.refuse("schema", "heartbeat", m.ok ? "id does not match the subject" : m.reason, id);
      return;
    }
    if (this.d.companions.seen(id, { heartbeat: m.value })) this.d.log.info("companion online", { companion: id });
  }

  /** A report from a companion: handed to the task's run, then acknowledged. Reports of tasks that ran elsewhere are not ours to answer. */
  private onReport(data: Uint8Array, subject: string): Uint8Array {
    if (!isSignedEnvelope(data)) return new Uint8Array();
    const [, , taskId, kind] = subject.split(".") as [string, string, string, "progress" | "result"];
    const pending = this.pending.get(taskId);
    // A task the core no longer follows (it ended, or the core restarted): any paired companion's signature is enough to ack it.
    const opened = this.open(data, subject, kind, pending?.companion);
    if (!opened) return new Uint8Array();
    const companion = pending?.companion ?? this.d.companions.idOfKey(opened.signer)!;
    const m = check(TaskReportV1, opened.body);
    if (!m.ok || m.value.taskId !== taskId || m.value.type !== kind) {
      this.refuse("schema", kind, m.ok ? "task id or type does not match the subject" : m.reason, companion);
      return new Uint8Array();
    }
    const r: TaskReport = m.value;
    if (pending) {
      pending.hooks.report(r);
      if (r.type === "result") this.end(taskId, { exitCode: r.exitCode });
    }
    // Acked whether or not the task is still followed here: the companion may drop it either way (the runs keep each seq once).
    const ack: CompanionAck = { v: 1, taskId, seq: r.seq };
    return this.d.signer.sealBytes(ackContext(subject, r.seq), ack);
  }

  private end(taskId: string, end: LaunchEnd): void {
    const p = this.pending.get(taskId);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(taskId);
    p.ended(end);
  }

  /** Into the companion's durable queue; while NATS is away it keeps trying (the same dedupe id each time) for up to SEND_RETRY_MS. */
  private async send(companion: string, msg: CompanionTask, expiresAt?: number): Promise<void> {
    const subject = subjects.companionTask(companion);
    const data = this.d.signer.sealBytes(subject, msg);
    const opts = { ...(expiresAt ? { expiresAt } : {}), dedupeId: msg.kind === "run" ? `run-${msg.spec.id}` : `cancel-${msg.taskId}` };
    const until = this.d.now() + SEND_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.queue!.publish(companion, data, opts);
      } catch (err) {
        if (this.d.now() >= until) throw err;
        await Bun.sleep(Math.min(5_000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2));
      }
    }
  }

  /** The task launcher for one companion: `target: "<id>"`. Its queue's consumer is made now, so the companion finds it before its first task. */
  launcher(companion: string): TaskLauncher {
    void this.queue
      ?.prepare(companion)
      .catch((err) => this.d.log.warn("could not prepare a companion's task queue; its first task will", { companion, error: (err as Error).message }));
    return {
      target: companion,
      remote: true,
      waitMs: this.d.taskWaitMs,
      status: (): LauncherStatus => {
        if (!this.d.companions.keyOf(companion)) return { ok: false, detail: `companion ${companion} is revoked` };
        if (this.d.companions.isOnline(companion)) return { ok: true, detail: `companion ${companion} is online` };
        const seen = this.d.companions.lastSeen(companion);
        return {
          ok: true,
          detail: `companion ${companion} is offline${seen ? ` (last seen ${new Date(seen).toISOString()})` : " (never seen)"}; tasks wait in its queue for up to ${Math.round(this.d.taskWaitMs / 1000)} s`,
        };
      },
      unsupported: (spec) => (spec.toolbox ? "toolbox: toolboxes are set up on the core's host; a companion runs tasks with its own programs" : undefined),
      launch: (spec: TaskRunSpec, hooks: LaunchHooks): Promise<LaunchedTask> => this.launch(companion, spec, hooks),
    };
  }

  private async launch(companion: string, spec: TaskRunSpec, hooks: LaunchHooks): Promise<LaunchedTask> {
    let ended!: (end: LaunchEnd) => void;
    const done = new Promise<LaunchEnd>((resolve) => (ended = resolve));
    this.pending.set(spec.id, { companion, hooks, ended });
    try {
      await this.send(companion, { v: 1, kind: "run", spec }, this.d.now() + this.d.taskWaitMs);
    } catch (err) {
      this.pending.delete(spec.id);
      throw err;
    }
    return {
      done,
      cancel: async () => {
        const p = this.pending.get(spec.id);
        if (!p) return;
        await this.send(companion, { v: 1, kind: "cancel", taskId: spec.id }, this.d.now() + CANCEL_ANSWER_MS).catch((err) =>
          hooks.note?.("warn", "could not send the cancel", { error: (err as Error).message }),
        );
        // A companion that is away (or gone) cannot answer: the task ends here all the same.
        p.timer ??= setTimeout(
          () => this.end(spec.id, { exitCode: null, reason: `companion ${companion} did not confirm the stop within ${CANCEL_ANSWER_MS / 1000} s` }),
          CANCEL_ANSWER_MS,
        );
      },
    };
  }

  /** A revoked companion: its waiting tasks are dropped, the ones it ran end here. */
  async forget(companion: string): Promise<void> {
    await this.queue?.remove(companion).catch((err) => this.d.log.warn("could not drop a revoked companion's queue", { companion, error: (err as Error).message }));
    for (const [id, p] of this.pending) if (p.companion === companion) this.end(id, { exitCode: null, reason: `companion ${companion} was revoked` });
  }
}

/** The claimed signer, read without trusting it: only to say a revoked key was refused as revoked. Called after a refusal. */
function signerOf(data: Uint8Array): string | undefined {
  try {
    const s = (JSON.parse(new TextDecoder().decode(data)) as { signer?: unknown }).signer;
    return typeof s === "string" ? s : undefined;
  } catch {
    return undefined;
  }
}
