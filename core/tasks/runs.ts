/**
 * The running side of tasks: approved tasks start as slots free up on their
 * target, reports come in (from the launcher, from the bus) and are kept once
 * each, and every task ends exactly once: by its runner's result, or, when
 * the runner never said, by what the launcher saw and why the core stopped it.
 */
import { randomBytes } from "node:crypto";
import type { AuditLog } from "../audit/service.ts";
import type { Bus, Subscription } from "../bus/types.ts";
import type { UsageLedger } from "../models/usage.ts";
import {
  decode,
  encode,
  isSignedEnvelope,
  isWireErrorCode,
  type LaunchEnd,
  type LaunchedTask,
  subjects,
  type TaskLauncher,
  TaskProgressV1,
  type TaskReport,
  type TaskResult,
  TaskResultV1,
  type TaskRunSpec,
  type TaskTarget,
  type WireError,
} from "../protocol/index.ts";
import type { Logger } from "../telemetry/log.ts";
import type { TaskJournal } from "./journal.ts";
import type { TasksSettings } from "./keys.ts";
import { isEnded, type TaskRequestRecord, type TaskRow, type TaskStatus, type TaskStore } from "./store.ts";

/** Past its timeout a task gets this long to end on its own (runner, then launcher) before the core stops it. */
export const TIMEOUT_GRACE_MS = 10_000;
/** How long the core waits for a result on NATS after a pod's log ended without one. */
const LATE_RESULT_MS = 2_000;
const TAIL_CHARS = 8 * 1024;

interface Run {
  id: string;
  target: TaskTarget;
  token: string;
  conversationId: string | null;
  status: TaskStatus;
  startedAt: number;
  lastSeq: number;
  tail: string;
  outputBytes: number;
  capped: boolean;
  launched?: LaunchedTask;
  result?: TaskResult;
  /** Why the core stopped it, when it did. */
  stop?: { why: "cancelled" | "timed_out"; by: string };
  ended: boolean;
  timer?: ReturnType<typeof setTimeout>;
  lateResult?: () => void;
}

export const newReportToken = () => randomBytes(24).toString("base64url");

export interface RunsDeps {
  store: TaskStore;
  journal: TaskJournal;
  bus: Bus;
  launchers: Partial<Record<string, TaskLauncher>>;
  settings: TasksSettings;
  ledger: UsageLedger;
  audit: AuditLog;
  log: Logger;
  persona: () => string;
  toolboxPaths: (name: string) => string[];
  /** Every secret the core holds is replaced in what a task says before it is kept. */
  redact: (text: string) => string;
  now: () => number;
}

export class Runs {
  private runs = new Map<string, Run>();
  private subs: Subscription[] = [];
  private stopping = false;

  constructor(private d: RunsDeps) {}

  start(): void {
    const take = (schema: typeof TaskProgressV1 | typeof TaskResultV1) => (data: Uint8Array) => {
      // A companion's reports are signed envelopes; core/companions opens them and hands them to ingest().
      if (isSignedEnvelope(data)) return;
      const m = decode(schema, data);
      if (!m.ok) return this.d.log.warn("skipping a task report that fails its schema", { reason: m.reason, bytes: data.byteLength });
      this.ingest(m.value as TaskReport);
    };
    this.subs.push(this.d.bus.subscribe(subjects.taskProgressAll(), take(TaskProgressV1)), this.d.bus.subscribe(subjects.taskResultAll(), take(TaskResultV1)));
    // A task a previous process left running is taken up again where its launcher can (a Job outlives the core);
    // one that died with that process (a local sandbox dies with its parent) has failed.
    for (const r of this.d.store.unfinished()) {
      const launcher = this.d.launchers[r.target];
      if (launcher?.attach) void this.reattach(r, launcher);
      else this.lost(r, "bakerst stopped while the task ran");
    }
    this.pump();
  }

  private lost(r: TaskRow, message: string): void {
    this.d.journal.result(r.id, { status: "failed", exitCode: null, error: { code: "internal", message } }, "failed", {
      error: { code: "internal", message },
      endedAt: this.d.now(),
    });
    void this.d.launchers[r.target]?.forget?.(r.id).catch(() => {});
  }

  private async reattach(row: TaskRow, launcher: TaskLauncher): Promise<void> {
    const run = this.newRun(row, row.startedAt ?? this.d.now());
    run.status = row.status;
    run.lastSeq = this.d.store.lastReportSeq(row.id);
    run.tail = row.outputTail;
    run.outputBytes = row.outputBytes;
    this.runs.set(row.id, run);
    run.timer = setTimeout(() => this.stopRun(run, "timed_out", "system"), Math.max(0, run.startedAt + row.timeoutMs + TIMEOUT_GRACE_MS - this.d.now()));
    try {
      run.launched = await launcher.attach!(this.spec(row), this.hooks(row));
    } catch (err) {
      this.runs.delete(row.id);
      clearTimeout(run.timer);
      this.lost(row, `bakerst restarted while the task ran, and ${(err as Error).message}`);
      return;
    }
    this.d.log.info("took up a task a previous process started", { taskId: row.id, target: row.target });
    void run.launched.done.then((end) => this.onDone(run, end));
  }

  private newRun(row: TaskRow, startedAt: number): Run {
    return {
      id: row.id,
      target: row.target,
      token: row.reportToken,
      conversationId: row.conversationId,
      status: "starting",
      startedAt,
      lastSeq: 0,
      tail: "",
      outputBytes: 0,
      capped: false,
      ended: false,
    };
  }

  private hooks(row: TaskRow) {
    // In edge mode the reports travel over the in-process bus, as they would over NATS.
    const report = this.d.bus.kind === "local" ? (r: TaskReport) => this.publish(r) : (r: TaskReport) => this.ingest(r);
    return { report, note: (level: "info" | "warn", msg: string, fields?: Record<string, unknown>) => this.d.log[level](msg, { taskId: row.id, ...fields }) };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const s of this.subs) await s.stop();
    // A task that outlives this process (a Job) is left running, for the next start to take up; the rest are stopped.
    const all = [...this.runs.values()];
    for (const r of all) {
      if (!r.launched?.detach) continue;
      clearTimeout(r.timer);
      r.launched.detach();
      this.runs.delete(r.id);
    }
    const running = all.filter((r) => this.runs.has(r.id));
    for (const r of running) if (!r.ended) r.stop ??= { why: "cancelled", by: "shutdown" };
    await Promise.all(running.map((r) => r.launched?.cancel().catch(() => {})));
    await Promise.race([Promise.all(running.map((r) => r.launched?.done)), Bun.sleep(8_000)]);
    this.d.journal.flush();
  }

  active(target?: TaskTarget): number {
    return [...this.runs.values()].filter((r) => !target || r.target === target).length;
  }

  isRunning(id: string): boolean {
    return this.runs.has(id);
  }

  /** Starts queued, approved tasks while their target has free slots. */
  pump(): void {
    if (this.stopping) return;
    for (const [target, launcher] of Object.entries(this.d.launchers) as [TaskTarget, TaskLauncher][]) {
      const free = this.d.settings.TASK_CONCURRENCY - this.active(target);
      if (free <= 0) continue;
      for (const row of this.d.store.runnable(target, free)) void this.launch(row, launcher);
    }
  }

  private spec(row: TaskRow): TaskRunSpec {
    const req = row.request as TaskRequestRecord;
    const toolbox = req.toolbox ? { name: req.toolbox, paths: this.d.toolboxPaths(req.toolbox) } : undefined;
    return {
      v: 1,
      id: row.id,
      mode: row.mode,
      ...(req.script !== undefined ? { script: req.script } : {}),
      ...(req.goal !== undefined ? { goal: req.goal } : {}),
      mounts: req.mounts,
      network: req.network,
      timeoutMs: row.timeoutMs,
      reportToken: row.reportToken,
      ...(toolbox ? { toolbox } : {}),
      ...(row.mode === "agent" ? { persona: this.d.persona(), ...(req.tokenBudget ? { tokenBudget: req.tokenBudget } : {}) } : {}),
    };
  }

  private async launch(row: TaskRow, launcher: TaskLauncher): Promise<void> {
    const now = this.d.now();
    const run = this.newRun(row, now);
    this.runs.set(row.id, run);
    this.d.journal.status(row.id, "starting", { target: row.target }, { startedAt: now });
    run.timer = setTimeout(() => this.stopRun(run, "timed_out", "system"), (launcher.waitMs ?? 0) + row.timeoutMs + TIMEOUT_GRACE_MS);
    try {
      run.launched = await launcher.launch(this.spec(row), this.hooks(row));
    } catch (err) {
      this.finish(run, { status: "failed", exitCode: null, error: { code: "internal", message: `the task could not start on ${row.target}: ${(err as Error).message}` } });
      this.release(run);
      return;
    }
    if (run.stop) void run.launched.cancel();
    void run.launched.done.then((end) => this.onDone(run, end));
  }

  private publish(r: TaskReport): void {
    const data = r.type === "result" ? encode(TaskResultV1, r) : encode(TaskProgressV1, r);
    void this.d.bus.publish(r.type === "result" ? subjects.taskResult(r.taskId) : subjects.taskProgress(r.taskId), data);
  }

  /** One report, from wherever it came; each seq is kept once. */
  ingest(r: TaskReport): void {
    const run = this.runs.get(r.taskId);
    if (!run || run.ended) return;
    if (r.token !== run.token) {
      this.d.log.warn("dropping a task report without the task's token", { taskId: r.taskId, seq: r.seq });
      return;
    }
    if (r.seq <= run.lastSeq) return;
    run.lastSeq = r.seq;
    if (run.status === "starting") {
      run.status = "running";
      this.d.journal.status(run.id, "running");
    }
    if (r.type === "result") {
      this.finish(run, r);
      run.lateResult?.();
      return;
    }
    const max = this.d.settings.TASK_OUTPUT_MAX_BYTES;
    const bytes = Buffer.byteLength(r.text);
    const text = this.d.redact(r.text);
    run.outputBytes += bytes;
    if (r.kind === "log") run.tail = (run.tail + text).slice(-TAIL_CHARS);
    if (run.outputBytes > max) {
      if (!run.capped)
        this.d.journal.progress(
          run.id,
          { seq: r.seq, at: r.at, kind: "milestone", text: `[output past ${max} bytes is not kept as events; the task's output field keeps its tail]` },
          {},
        );
      run.capped = true;
      this.d.journal.change(run.id, { outputTail: run.tail, outputBytes: run.outputBytes });
      return;
    }
    const { v: _, type: __, taskId: ___, token: ____, ...data } = r;
    this.d.journal.progress(run.id, { ...data, text }, { outputTail: run.tail, outputBytes: run.outputBytes });
  }

  /** Cancel or timeout: the launcher tells the runner, then kills what is left; the task ends when the runner does. */
  async stopRun(run: Run, why: "cancelled" | "timed_out", by: string): Promise<void> {
    if (run.ended) return;
    run.stop ??= { why, by };
    await run.launched?.cancel();
  }

  runOf(id: string): Run | undefined {
    return this.runs.get(id);
  }

  private async onDone(run: Run, end: LaunchEnd): Promise<void> {
    // A pod's result may still be on its way over NATS after its log ended.
    if (!run.result && this.d.bus.kind === "nats" && !run.stop) await new Promise<void>((resolve) => ((run.lateResult = resolve), setTimeout(resolve, LATE_RESULT_MS)));
    if (!run.ended) {
      const why = run.stop?.why ?? (end.exitCode === 124 ? "timed_out" : end.exitCode === 143 ? "cancelled" : undefined);
      if (why === "timed_out")
        this.finish(run, {
          status: "timed_out",
          exitCode: null,
          error: { code: "timeout", message: `the task ran past its timeout and was stopped${end.reason ? ` (${end.reason})` : ""}` },
        });
      else if (why === "cancelled") this.finish(run, { status: "cancelled", exitCode: null });
      else {
        const message = `the runner ended without reporting a result (exit ${end.exitCode ?? "none"}${end.reason ? `: ${end.reason}` : ""})`;
        this.finish(run, { status: "failed", exitCode: end.exitCode, error: { code: "internal", message } });
      }
    }
    this.release(run);
  }

  private release(run: Run): void {
    clearTimeout(run.timer);
    this.runs.delete(run.id);
    this.pump();
  }

  private finish(run: Run, r: Pick<TaskResult, "status" | "exitCode" | "answer" | "error" | "usage">): void {
    if (run.ended) return;
    run.ended = true;
    clearTimeout(run.timer);
    let status: TaskStatus = r.status;
    let error: WireError | undefined = r.error ? { code: isWireErrorCode(r.error.code) ? r.error.code : "internal", message: this.d.redact(r.error.message) } : undefined;
    const answer = r.answer !== undefined ? this.d.redact(r.answer) : undefined;
    // The runner hears "cancel" for a timeout too; the core knows which it was.
    if (run.stop?.why === "timed_out" && status === "cancelled") {
      status = "timed_out";
      error = { code: "timeout", message: "the task ran past its timeout and was stopped" };
    }
    const now = this.d.now();
    if (r.usage && !r.usage.recorded) {
      const { model, provider, recorded: _, ...usage } = r.usage;
      try {
        this.d.ledger.record({ role: "worker", provider, model, usage, origin: "task", ...(run.conversationId ? { conversationId: run.conversationId } : {}) });
      } catch (err) {
        this.d.log.warn("could not record a task's model usage", { taskId: run.id, error: (err as Error).message });
      }
    }
    const data = { status, exitCode: r.exitCode, ...(error ? { error } : {}), ...(answer !== undefined ? { answer } : {}), ...(r.usage ? { usage: r.usage } : {}) };
    this.d.journal.result(run.id, data, status, {
      exitCode: r.exitCode,
      error: error ?? null,
      answer: answer ?? null,
      usage: r.usage ?? null,
      endedAt: now,
      outputTail: run.tail,
      outputBytes: run.outputBytes,
    });
    const durationMs = now - run.startedAt;
    this.d.audit.record({
      action: "task.finished",
      outcome: status === "succeeded" || status === "cancelled" ? "ok" : "failed",
      actor: run.stop ? run.stop.by : "system",
      target: run.id,
      detail: { status, exitCode: r.exitCode, code: error?.code ?? null, durationMs, target: run.target },
    });
    if (isEnded(status)) run.status = status;
  }
}
