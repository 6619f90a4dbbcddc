import { type Accessor, createSignal } from "solid-js";
import { createStore, produce, reconcile, type SetStoreFunction } from "solid-js/store";
import { resumeChat, streamChat } from "../../api/chat.ts";
import { ApiError, api } from "../../api/client.ts";
import type { ChatEvent, CompactResult, ConversationDetail, Job, Task } from "../../api/types.ts";
import { applyEvent, localKey, TERMINAL_JOB, TERMINAL_TASK, type TurnView, turnsFromConversation } from "./model.ts";

const [listVersion, setListVersion] = createSignal(0);

/** Bumped whenever the conversation list may have changed (a new conversation, a finished turn, a rename). */
export { listVersion };
export const refreshList = () => setListVersion((v) => v + 1);

/**
 * One conversation's state, kept outside any component so a stream keeps
 * going while the owner looks at another page, and a new conversation keeps
 * its live turn when the URL changes to /chat/:id.
 */
export class ChatSession {
  readonly turns: TurnView[];
  private setTurns: SetStoreFunction<TurnView[]>;
  readonly id: Accessor<string | undefined>;
  private setId: (id: string | undefined) => void;
  readonly title: Accessor<string>;
  readonly setTitle: (t: string) => void;
  readonly state: Accessor<"idle" | "loading" | "ready" | "error">;
  private setState: (s: "idle" | "loading" | "ready" | "error") => void;
  readonly loadError: Accessor<unknown>;
  private setLoadError: (e: unknown) => void;
  readonly busy: Accessor<boolean>;
  private setBusy: (b: boolean) => void;
  private abort?: AbortController;
  private polling = new Set<string>();

  constructor(id?: string) {
    [this.turns, this.setTurns] = createStore<TurnView[]>([]);
    [this.id, this.setId] = createSignal(id);
    [this.title, this.setTitle] = createSignal("New conversation");
    [this.state, this.setState] = createSignal<"idle" | "loading" | "ready" | "error">(id ? "idle" : "ready");
    [this.loadError, this.setLoadError] = createSignal<unknown>();
    [this.busy, this.setBusy] = createSignal(false);
  }

  async load(): Promise<void> {
    const id = this.id();
    if (!id || this.busy()) return;
    // A refresh of a conversation already on screen keeps it visible instead of flashing a spinner.
    if (this.state() !== "ready") this.setState("loading");
    try {
      const c = await api<ConversationDetail>(`/api/conversations/${encodeURIComponent(id)}`);
      this.setTitle(c.title);
      const running = c.running?.turnId;
      this.setTurns(reconcile(turnsFromConversation(c, running), { key: "key" }));
      this.setState("ready");
      if (running) void this.follow(running);
    } catch (err) {
      this.setLoadError(err);
      this.setState("error");
    }
  }

  /** Joins a turn that is still running (after a reload), replaying its events from the start. */
  private async follow(turnId: string): Promise<void> {
    const i = this.turns.findIndex((t) => t.turnId === turnId);
    if (i < 0) return;
    this.setTurns(i, { streaming: true, parts: [] });
    this.setBusy(true);
    this.abort = new AbortController();
    try {
      await resumeChat(turnId, 0, (ev) => this.apply(i, ev), this.abort.signal);
    } catch (err) {
      if (!this.abort.signal.aborted) this.setTurns(i, "error", { code: "stream_lost", message: (err as Error).message });
    } finally {
      this.setTurns(i, "streaming", false);
      this.setBusy(false);
      this.afterTurn(i);
    }
  }

  private apply(i: number, ev: ChatEvent): void {
    this.setTurns(
      i,
      produce((t) => applyEvent(t, ev)),
    );
  }

  /** Sends a message; resolves with the conversation id once the turn has ended. */
  async send(message: string, onConversation?: (id: string) => void): Promise<void> {
    if (this.busy()) return;
    const i = this.turns.length;
    this.setTurns(i, { key: localKey(), user: message, parts: [], streaming: true, jobs: {}, tasks: {} });
    this.setBusy(true);
    this.abort = new AbortController();
    try {
      await streamChat(
        { message, conversationId: this.id() },
        (ev) => {
          if (ev.event === "conversation" && !this.id()) {
            this.setId(ev.data.id);
            this.setTitle(message.replace(/\s+/g, " ").trim().slice(0, 60));
            onConversation?.(ev.data.id);
            refreshList();
          }
          this.apply(i, ev);
        },
        this.abort.signal,
      );
    } catch (err) {
      if (!this.abort.signal.aborted) {
        const e = err instanceof ApiError ? { code: err.code, message: err.message } : { code: "network", message: `could not reach the server: ${(err as Error).message}` };
        this.setTurns(i, "error", e);
      }
    } finally {
      this.setTurns(i, "streaming", false);
      this.setBusy(false);
      this.afterTurn(i);
    }
  }

  /** Ends the running turn on the server; what was said so far stays. */
  async stop(): Promise<void> {
    const id = this.id();
    if (id) await api(`/api/conversations/${encodeURIComponent(id)}/stop`, { method: "POST" }).catch(() => undefined);
    else this.abort?.abort();
  }

  /** Asks the server to compact the conversation now (the /compact command), then shows where the summary starts. */
  async compact(): Promise<CompactResult | undefined> {
    const id = this.id();
    if (!id || this.busy()) return undefined;
    this.setBusy(true);
    try {
      return await api<CompactResult>(`/api/conversations/${encodeURIComponent(id)}/compact`, { method: "POST" });
    } finally {
      this.setBusy(false);
      await this.load();
    }
  }

  async retry(i: number): Promise<void> {
    const turn = this.turns[i];
    if (turn) await this.send(turn.user);
  }

  private afterTurn(i: number): void {
    refreshList();
    const turn = this.turns[i];
    if (!turn) return;
    for (const [jobId, status] of Object.entries(turn.jobs)) if (!TERMINAL_JOB.has(status)) void this.pollJob(i, jobId);
    for (const [taskId, t] of Object.entries(turn.tasks)) if (!TERMINAL_TASK.has(t.status)) void this.pollTask(i, taskId);
  }

  /** Task cards keep updating after the turn ends (and show when one waits for approval), until the task ends. */
  private async pollTask(i: number, taskId: string): Promise<void> {
    if (this.polling.has(taskId)) return;
    this.polling.add(taskId);
    const until = Date.now() + 24 * 60 * 60_000;
    try {
      for (let first = true; Date.now() < until; first = false) {
        if (!first) await new Promise((r) => setTimeout(r, 1500));
        const task = await api<Task>(`/api/tasks/${encodeURIComponent(taskId)}`).catch(() => undefined);
        if (!task) return;
        this.setTurns(i, "tasks", taskId, { status: task.status, pending: task.status === "queued" && task.approval?.state === "pending" });
        if (TERMINAL_TASK.has(task.status)) return;
      }
    } finally {
      this.polling.delete(taskId);
    }
  }

  /** The owner's approval from the task's card in chat. */
  async approveTask(i: number, taskId: string): Promise<void> {
    const task = await api<Task>(`/api/tasks/${encodeURIComponent(taskId)}/approve`, { method: "POST" });
    this.setTurns(i, "tasks", taskId, { status: task.status, pending: false });
    void this.pollTask(i, taskId);
  }

  /** Job chips keep updating after the turn ends, until the job finishes. */
  private async pollJob(i: number, jobId: string): Promise<void> {
    if (this.polling.has(jobId)) return;
    this.polling.add(jobId);
    const until = Date.now() + 30 * 60_000;
    try {
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, 1500));
        const job = await api<Job>(`/api/jobs/${encodeURIComponent(jobId)}`).catch(() => undefined);
        if (!job) return;
        this.setTurns(i, "jobs", jobId, job.status);
        if (TERMINAL_JOB.has(job.status)) return;
      }
    } finally {
      this.polling.delete(jobId);
    }
  }
}

const sessions = new Map<string, ChatSession>();
let draft: ChatSession | undefined;

/** The session for a conversation id, or the one draft for a new conversation. */
export function sessionFor(id: string | undefined): ChatSession {
  if (!id) {
    if (!draft || draft.id()) draft = new ChatSession();
    return draft;
  }
  let s = sessions.get(id);
  if (!s && draft?.id() === id) {
    s = draft;
    draft = undefined;
  }
  if (!s) s = new ChatSession(id);
  sessions.set(id, s);
  return s;
}

export function newDraft(): ChatSession {
  if (draft && !draft.id() && draft.turns.length === 0) return draft;
  draft = new ChatSession();
  return draft;
}

export function forget(id: string): void {
  sessions.delete(id);
}
