/**
 * The core's side of tasks: a request is checked (shape, mounts, network,
 * target, toolbox, budget), kept, approved or held for the owner, and handed
 * to the running side (runs.ts); the API, the agent's tools and the CLI all
 * come through here.
 */
import type { AuditEvent, AuditLog } from "../audit/service.ts";
import { AppError, notFound } from "../errors.ts";
import type { UsageLedger } from "../models/usage.ts";
import { isBuiltinTarget, type TaskLauncher, type TaskTarget } from "../protocol/index.ts";
import { newId } from "../util/ids.ts";
import { covered, type Scope, scopesOf, scopeText } from "./approval.ts";
import type { StatusEvent, TaskJournal } from "./journal.ts";
import type { TasksFile, TasksSettings } from "./keys.ts";
import { type MountPolicy, remoteMounts, resolveMounts } from "./mounts.ts";
import { parseTaskRequest } from "./request.ts";
import { newReportToken, type Runs } from "./runs.ts";
import { type Approval, isEnded, type StoredEvent, type TaskStatus, type TaskStore, type TaskView } from "./store.ts";

/** Who is asking, for the audit log and the task's row. */
export interface Requester {
  /** `web`, `api`, `cli`, or `agent` (a tool call in a turn). */
  actor: string;
  address?: string;
  origin?: string;
  conversationId?: string;
}

export interface TaskServiceDeps {
  store: TaskStore;
  journal: TaskJournal;
  runs: Runs;
  launchers: Partial<Record<string, TaskLauncher>>;
  settings: TasksSettings;
  file: TasksFile;
  mounts: MountPolicy;
  preapproved: readonly Scope[];
  ledger: UsageLedger;
  audit: AuditLog;
  now: () => number;
}

const FIELD = /^([A-Za-z][\w.[\]]{0,39})[:\s]/;

export class TaskService {
  constructor(private d: TaskServiceDeps) {}

  get journal(): TaskJournal {
    return this.d.journal;
  }

  private audit(e: Omit<AuditEvent, "actor" | "address">, who: Requester): void {
    this.d.audit.record({ ...e, actor: who.actor, ...(who.address ? { address: who.address } : {}) });
  }

  /** Checks and keeps a task; it starts at once, or waits for the owner when it asks for a writable mount or the network. */
  create(raw: unknown, who: Requester): TaskView {
    try {
      return this.admit(raw, who);
    } catch (err) {
      if (err instanceof AppError) {
        // The field, never the message: it may quote what was sent.
        this.audit({ action: "task.requested", outcome: "refused", detail: { code: err.code, field: FIELD.exec(err.message)?.[1] ?? null, origin: who.origin ?? null } }, who);
      }
      throw err;
    }
  }

  private admit(raw: unknown, who: Requester): TaskView {
    const req = parseTaskRequest(raw);
    const target = req.target ?? (this.d.settings.TASK_TARGET as TaskTarget);
    const launcher = this.d.launchers[target];
    if (!launcher && !isBuiltinTarget(target))
      throw new AppError("invalid_task", `target: ${target} is neither local, kubernetes nor a paired companion (GET /api/companions lists them)`);
    if (!launcher)
      throw new AppError(
        "target_unavailable",
        `target ${target}: ${target === "kubernetes" ? "Kubernetes is not configured for tasks; set TASK_KUBECONFIG (a kubeconfig file, or in-cluster)" : "not available here"}`,
      );
    const status = launcher.status();
    if (!status.ok) throw new AppError("target_unavailable", `target ${target}: ${status.detail}${status.fix ? `; fix: ${status.fix}` : ""}`);
    const mounts = launcher.remote ? remoteMounts(req.mounts) : resolveMounts(req.mounts, this.d.mounts);
    const toolbox = req.toolbox ? this.d.file.toolboxes?.[req.toolbox] : undefined;
    if (req.toolbox && !toolbox)
      throw new AppError(
        "invalid_task",
        `toolbox: ${req.toolbox} is not one of the toolboxes in the tasks: section (${Object.keys(this.d.file.toolboxes ?? {}).join(", ") || "none"})`,
      );
    const reason = launcher.unsupported?.({
      mode: req.mode,
      mounts,
      network: req.network,
      ...(req.toolbox ? { toolbox: { name: req.toolbox, paths: toolbox?.paths ?? [] } } : {}),
    });
    if (reason) throw new AppError("invalid_task", reason);
    // Agent work pauses past the daily budget, like agent jobs.
    if (req.mode === "agent") this.d.ledger.assertWithinBudget();

    const scopes = scopesOf(mounts, req.network);
    const allPreapproved = scopes.length > 0 && scopes.every((s) => covered(s, this.d.preapproved));
    const now = this.d.now();
    const approval: Approval | undefined = !scopes.length
      ? undefined
      : allPreapproved
        ? { scopes: scopes.map(scopeText), state: "preapproved", at: now }
        : { scopes: scopes.map(scopeText), state: "pending" };
    const row = this.d.store.create({
      id: newId(),
      mode: req.mode,
      target,
      request: {
        ...(req.script !== undefined ? { script: req.script } : {}),
        ...(req.goal !== undefined ? { goal: req.goal } : {}),
        mounts,
        network: req.network,
        ...(req.toolbox ? { toolbox: req.toolbox } : {}),
        ...(req.tokenBudget ? { tokenBudget: req.tokenBudget } : {}),
      },
      timeoutMs: req.timeoutMs ?? this.d.settings.TASK_TIMEOUT_MS,
      ...(approval ? { approval } : {}),
      reportToken: newReportToken(),
      ...(who.origin ? { origin: who.origin } : {}),
      actor: who.actor,
      ...(who.conversationId ? { conversationId: who.conversationId } : {}),
      now,
    });
    const hosts = req.network === "none" ? 0 : req.network.allow.length;
    this.audit(
      {
        action: "task.requested",
        outcome: "ok",
        target: row.id,
        detail: {
          mode: req.mode,
          target,
          mounts: mounts.length,
          writable: mounts.filter((m) => m.writable).length,
          hosts,
          toolbox: req.toolbox ?? null,
          origin: who.origin ?? null,
        },
      },
      who,
    );
    if (approval?.state === "preapproved")
      this.d.audit.record({ action: "task.approved", outcome: "ok", actor: "system", target: row.id, detail: { scopes: approval.scopes.join(" "), by: "TASK_PREAPPROVED" } });
    this.d.journal.status(row.id, "queued", approval?.state === "pending" ? { approval: "pending", scopes: approval.scopes } : {});
    this.d.runs.pump();
    return this.view(row.id);
  }

  /** The owner's yes to a task waiting for approval. Only the API and the CLI call this: never a tool. */
  approve(id: string, who: Requester): TaskView {
    const row = this.d.store.row(id);
    if (!row) throw notFound("task", id);
    const approval = row.approval as Approval | null;
    if (row.status !== "queued" || approval?.state !== "pending") {
      throw new AppError(
        "task_state",
        `task ${id} is ${row.status}${approval ? ` (approval ${approval.state})` : ", and asked for nothing that needs approval"}; only a queued task waiting for approval can be approved`,
      );
    }
    const now = this.d.now();
    const approved: Approval = { ...approval, state: "approved", by: who.actor, at: now };
    this.d.store.update(id, { approval: approved }, now);
    this.audit({ action: "task.approved", outcome: "ok", target: id, detail: { scopes: approved.scopes.join(" ") } }, who);
    this.d.journal.status(id, "queued", { approval: "approved", by: who.actor });
    this.d.runs.pump();
    return this.view(id);
  }

  /** Cancels a task: one waiting never starts; one running is stopped with everything it started. */
  async cancel(id: string, who: Requester): Promise<TaskView> {
    const row = this.d.store.row(id);
    if (!row) throw notFound("task", id);
    if (isEnded(row.status)) throw new AppError("task_state", `task ${id} has already ended (${row.status})`);
    this.audit({ action: "task.cancelled", outcome: "ok", target: id, detail: { was: row.status } }, who);
    const run = this.d.runs.runOf(id);
    if (run) await this.d.runs.stopRun(run, "cancelled", who.actor);
    else {
      const now = this.d.now();
      this.d.journal.result(id, { status: "cancelled", exitCode: null }, "cancelled", { endedAt: now });
    }
    return this.view(id);
  }

  /** Another place tasks can run (a paired companion): `target` in a request names it. */
  addTarget(name: string, launcher: TaskLauncher): void {
    this.d.launchers[name] = launcher;
    this.d.runs.pump();
  }

  /** A target that is gone (a revoked companion): new tasks naming it are refused; running ones end by their deadline. */
  removeTarget(name: string): void {
    delete this.d.launchers[name];
  }

  get(id: string): TaskView | undefined {
    return this.d.store.get(id);
  }

  private view(id: string): TaskView {
    return this.d.store.get(id)!;
  }

  list(q: { limit: number; status?: TaskStatus; before?: number }): TaskView[] {
    return this.d.store.list(q);
  }

  /** Every event after `after`, then new ones as they are stored, until the task has ended and all are out, or `signal` aborts. */
  async *follow(id: string, after: number, signal: AbortSignal): AsyncGenerator<StoredEvent> {
    let next = after;
    while (!signal.aborted) {
      const wake = new AbortController();
      const waiting = this.d.journal.next(id, 15_000, AbortSignal.any([signal, wake.signal]));
      const rows = this.d.store.events(id, next);
      for (const e of rows) {
        next = e.id;
        yield e;
      }
      if (rows.length) {
        wake.abort();
        continue;
      }
      const row = this.d.store.row(id);
      // The result is a task's last event: once it is stored, nothing more comes.
      if (!row || isEnded(row.status)) {
        wake.abort();
        // Anything written between the read above and the end.
        for (const e of this.d.store.events(id, next)) yield e;
        return;
      }
      await waiting;
    }
  }

  /** Waits for the task to end (or `timeoutMs`), reporting each status it moves to. */
  async waitFor(id: string, timeoutMs: number, onStatus?: (ev: StatusEvent) => void, signal?: AbortSignal): Promise<TaskView | undefined> {
    const until = this.d.now() + timeoutMs;
    let last: TaskStatus | undefined;
    for (;;) {
      const wake = new AbortController();
      const waiting = this.d.journal.next(id, Math.max(0, Math.min(1_000, until - this.d.now())), signal ? AbortSignal.any([signal, wake.signal]) : wake.signal);
      const task = this.d.store.get(id);
      if (!task) return (wake.abort(), undefined);
      if (task.status !== last) {
        last = task.status;
        onStatus?.({ id, status: task.status });
      }
      if (isEnded(task.status) || this.d.now() >= until || signal?.aborted) return (wake.abort(), task);
      await waiting;
    }
  }
}
