/**
 * `bakerst-satellite --mode companion`: a daemon on a NAS or VM outside the
 * cluster. It announces itself (on start and on every reconnect), beats,
 * takes tasks from its own durable queue, runs them with the task runner in
 * the sandbox, and spools every report until the core acknowledges it.
 *
 * Trust: a task is run only when the core's key signed it for this
 * companion's subject; everything the companion says is signed with its own
 * key. The NATS permissions say the same thing a second time.
 */
import { realpathSync } from "node:fs";
import { arch, freemem, hostname, loadavg, platform, totalmem } from "node:os";
import type { Bus, Consumer, Delivery } from "../../core/bus/types.ts";
import {
  ackContext,
  CompanionAckV1,
  type CompanionAnnounce,
  type CompanionHeartbeat,
  CompanionTaskV1,
  check,
  KEYED_QUEUES,
  type LaunchedTask,
  RefusalCounts,
  type Signer,
  subjects,
  type TaskLauncher,
  type TaskReport,
  type TaskRunSpec,
  type Verifier,
} from "../../core/protocol/index.ts";
import type { WorkerLog } from "../worker/worker.ts";
import type { Spool } from "./spool.ts";

export interface CompanionOptions {
  id: string;
  version: string;
  bus: Bus;
  signer: Signer;
  verifier: Verifier;
  corePublicKey: string;
  spool: Spool;
  launcher: TaskLauncher;
  allowedPaths: string[];
  concurrency: number;
  heartbeatMs: number;
  sandbox: { ok: boolean; detail: string };
  modes: ("script" | "agent")[];
  log: WorkerLog;
  /** Called on every reconnect so the daemon announces again. */
  onReconnect(listener: () => void): void;
}

const ACK_TIMEOUT_MS = 5_000;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 30_000;
const DONE_KEPT_MS = 7 * 86_400_000;

/** Full jitter: anywhere between half and all of the exponential step, so many companions do not retry in step. */
export function backoff(attempt: number, min = BACKOFF_MIN_MS, max = BACKOFF_MAX_MS): number {
  const step = Math.min(max, min * 2 ** Math.min(attempt, 20));
  return Math.round(step / 2 + Math.random() * (step / 2));
}

interface Running {
  spec: TaskRunSpec;
  launched?: LaunchedTask;
  cancelled: boolean;
  lastSeq: number;
  hasResult: boolean;
}

export class Companion {
  readonly refusals = new RefusalCounts();
  private running = new Map<string, Running>();
  private consumer?: Consumer;
  private heartbeat?: ReturnType<typeof setInterval>;
  private stopping = false;
  private draining = false;
  private wakeSender?: () => void;
  private sender?: Promise<void>;

  constructor(private o: CompanionOptions) {}

  get active(): number {
    return this.running.size;
  }

  async start(): Promise<void> {
    this.recover();
    this.sender = this.deliver();
    await this.announce();
    this.o.onReconnect(() => void this.announce());
    this.heartbeat = setInterval(() => void this.beat(), this.o.heartbeatMs);
    const queue = await this.o.bus.keyed(KEYED_QUEUES.companionTasks, { ackWaitMs: 30_000 });
    this.consumer = queue.consume(this.o.id, (d) => this.take(d), { concurrency: 1 });
    this.pump();
  }

  /** A task that was running when the previous process died failed; one still waiting for a slot runs now. */
  private recover(): void {
    for (const spec of this.o.spool.tasks("running")) {
      const t = this.o.spool.task(spec.id)!;
      if (!t.hasResult)
        this.report(spec, t.lastSeq + 1, {
          status: "failed",
          exitCode: null,
          error: { code: "internal", message: "the companion stopped while the task ran (killed or restarted)" },
        });
      this.o.spool.setState(spec.id, "done");
    }
    this.o.spool.prune(DONE_KEPT_MS);
  }

  private report(spec: TaskRunSpec, seq: number, r: Pick<Extract<TaskReport, { type: "result" }>, "status" | "exitCode" | "error">): void {
    this.o.spool.add({ v: 1, type: "result", taskId: spec.id, token: spec.reportToken, seq, at: Date.now(), ...r });
    this.wakeSender?.();
  }

  private announce(): Promise<void> {
    const body: CompanionAnnounce = {
      v: 1,
      id: this.o.id,
      hostname: hostname().slice(0, 255),
      version: this.o.version,
      platform: platform(),
      arch: arch(),
      capabilities: { modes: this.o.modes, sandbox: this.o.sandbox.ok, sandboxDetail: this.o.sandbox.detail.slice(0, 1000) },
      allowedPaths: this.o.allowedPaths,
      maxConcurrency: this.o.concurrency,
      active: [...this.running.keys()].slice(0, 256),
    };
    const subject = subjects.companionAnnounce();
    return this.o.bus.publish(subject, this.o.signer.sealBytes(subject, body));
  }

  private beat(): Promise<void> {
    const body: CompanionHeartbeat = {
      v: 1,
      id: this.o.id,
      load: loadavg(),
      memory: { totalBytes: totalmem(), freeBytes: freemem(), rssBytes: process.memoryUsage.rss() },
      active: [...this.running.keys()].slice(0, 256),
      refused: this.refusals.total,
      spool: this.o.spool.stats(),
    };
    const subject = subjects.companionHeartbeat(this.o.id);
    return this.o.bus.publish(subject, this.o.signer.sealBytes(subject, body));
  }

  /** One message from the queue: opened and checked, then kept in the spool before it is acked. */
  private async take(d: Delivery): Promise<void> {
    const subject = subjects.companionTask(this.o.id);
    const opened = this.o.verifier.open(d.data, subject, this.o.corePublicKey);
    if (!opened.ok) {
      this.refusals.add(opened.reason);
      this.o.log("warn", "refused a task message not signed by the core", { reason: opened.reason, detail: opened.detail, refused: this.refusals.total });
      await d.term(opened.reason);
      return;
    }
    const m = check(CompanionTaskV1, opened.body);
    if (!m.ok) {
      this.refusals.add("schema");
      this.o.log("warn", "refused a task message that fails its schema", { reason: m.reason });
      await d.term("schema");
      return;
    }
    const msg = m.value;
    if (msg.kind === "cancel") {
      this.cancel(msg.taskId);
      await d.ack();
      return;
    }
    const spec = msg.spec;
    if (!this.o.spool.accept(spec)) {
      // Already taken (a redelivery after a lost ack); its reports are in the spool.
      await d.ack();
      return;
    }
    await d.ack();
    this.o.log("info", "task accepted", { taskId: spec.id, mode: spec.mode });
    this.pump();
  }

  private cancel(taskId: string): void {
    const run = this.running.get(taskId);
    if (run) {
      run.cancelled = true;
      void run.launched?.cancel();
      return;
    }
    const t = this.o.spool.task(taskId);
    if (t?.state === "pending") {
      this.o.spool.setState(taskId, "done");
      this.report(t.spec, t.lastSeq + 1, { status: "cancelled", exitCode: null });
    }
  }

  /** Starts waiting tasks while there are free slots. */
  private pump(): void {
    if (this.draining) return;
    const free = this.o.concurrency - this.running.size;
    if (free <= 0) return;
    for (const spec of this.o.spool.tasks("pending").slice(0, free)) void this.run(spec);
  }

  /** Why a task may not run here, or undefined: its mounts must be inside the allowed paths. */
  private refusal(spec: TaskRunSpec): string | undefined {
    if (spec.mode === "agent" && !this.o.modes.includes("agent")) return "agent tasks are not available on this companion (no model configured: MODEL_WORKER and its key)";
    for (const m of spec.mounts) {
      let real: string;
      try {
        real = realpathSync(m.source);
      } catch {
        return `mount ${m.source} does not exist on this companion`;
      }
      if (real !== m.source || real !== m.target) return `mount ${m.source} must be given by its real path`;
      if (!this.o.allowedPaths.some((a) => real === a || real.startsWith(`${a.replace(/\/+$/, "")}/`))) {
        return `mount ${m.source} is outside this companion's allowed paths (${this.o.allowedPaths.join(", ") || "none: TASK_ALLOWED_PATHS is unset"})`;
      }
    }
    return undefined;
  }

  private async run(spec: TaskRunSpec): Promise<void> {
    const t = this.o.spool.task(spec.id);
    const run: Running = { spec, cancelled: false, lastSeq: t?.lastSeq ?? 0, hasResult: false };
    this.running.set(spec.id, run);
    this.o.spool.setState(spec.id, "running");
    const finish = () => {
      this.o.spool.setState(spec.id, "done");
      this.running.delete(spec.id);
      this.pump();
    };
    const refused = this.refusal(spec);
    const status = this.o.launcher.status();
    if (refused || !status.ok) {
      this.report(spec, run.lastSeq + 1, { status: "failed", exitCode: null, error: { code: "refused", message: refused ?? status.detail } });
      this.o.log("warn", "task refused", { taskId: spec.id, reason: refused ?? status.detail });
      return finish();
    }
    try {
      run.launched = await this.o.launcher.launch(spec, {
        report: (r) => {
          if (r.seq <= run.lastSeq || run.hasResult) return;
          run.lastSeq = r.seq;
          if (r.type === "result") run.hasResult = true;
          if (!this.o.spool.add(r) && this.o.spool.droppedFor(r.taskId))
            this.o.log("warn", "the spool is full: progress of this task is dropped until the core is reachable; results are kept", { taskId: r.taskId, ...this.o.spool.stats() });
          this.wakeSender?.();
        },
        note: (level, msg, fields) => this.o.log(level, msg, fields),
      });
      if (run.cancelled) void run.launched.cancel();
    } catch (err) {
      this.report(spec, run.lastSeq + 1, {
        status: "failed",
        exitCode: null,
        error: { code: "internal", message: `the task could not start on this companion: ${(err as Error).message}` },
      });
      return finish();
    }
    const end = await run.launched.done;
    if (!run.hasResult) {
      const why = end.reason ? `: ${end.reason}` : "";
      this.report(spec, run.lastSeq + 1, {
        status: "failed",
        exitCode: end.exitCode,
        error: { code: "internal", message: `the runner ended without reporting a result (exit ${end.exitCode ?? "none"}${why})` },
      });
    }
    finish();
  }

  /**
   * Sends the spool's reports in order, each signed, and removes each once
   * the core's signed ack for it came back. While the core is unreachable it
   * waits with backoff and jitter, never spinning.
   */
  private async deliver(): Promise<void> {
    let attempt = 0;
    while (!this.stopping) {
      const [row] = this.o.spool.peek(1);
      if (!row) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1_000);
          this.wakeSender = () => (clearTimeout(t), resolve());
        });
        this.wakeSender = undefined;
        continue;
      }
      try {
        const reply = await this.o.bus.request(row.subject, this.o.signer.sealBytes(row.subject, row.report), { timeoutMs: ACK_TIMEOUT_MS });
        const opened = this.o.verifier.open(reply, ackContext(row.subject, row.report.seq), this.o.corePublicKey);
        const ack = opened.ok ? check(CompanionAckV1, opened.body) : undefined;
        if (!opened.ok || !ack?.ok || ack.value.taskId !== row.taskId || ack.value.seq !== row.report.seq) {
          this.refusals.add(opened.ok ? "schema" : opened.reason);
          throw new Error(`the ack is not the core's (${opened.ok ? "wrong task or seq" : opened.detail})`);
        }
        this.o.spool.remove(row.seq);
        attempt = 0;
      } catch (err) {
        const wait = backoff(attempt++);
        if (attempt === 1 || attempt % 10 === 0)
          this.o.log("warn", "cannot deliver reports yet; will retry", { error: (err as Error).message, pending: this.o.spool.size, retryInMs: wait });
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          // Stop waits no longer than it must.
          this.wakeSender = () => {
            if (this.stopping) clearTimeout(t), resolve();
          };
        });
        this.wakeSender = undefined;
      }
    }
  }

  /** SIGTERM: take no new tasks, let running ones finish (up to `drainMs`), then stop the rest; give the spool a moment to empty. */
  async stop(drainMs: number): Promise<void> {
    this.draining = true;
    clearInterval(this.heartbeat);
    await this.consumer?.stop(5_000);
    const runs = [...this.running.values()];
    const ended = Promise.all(runs.map((r) => r.launched?.done));
    const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), drainMs));
    if ((await Promise.race([ended, timer])) === "timeout") {
      this.o.log("warn", "drain timeout: stopping the tasks still running", { running: this.running.size });
      for (const r of this.running.values()) {
        r.cancelled = true;
        void r.launched?.cancel();
      }
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    }
    const flushUntil = Date.now() + 3_000;
    while (this.o.spool.size && Date.now() < flushUntil) await new Promise((r) => setTimeout(r, 50));
    this.stopping = true;
    this.wakeSender?.();
    await this.sender;
    await this.o.launcher.close?.();
  }
}
