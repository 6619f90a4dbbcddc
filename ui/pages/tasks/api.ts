import { api, qs } from "../../api/client.ts";
import type { NewTask, Task, TaskEvent, TaskList } from "../../api/types.ts";

export const TASK_STATUSES = ["queued", "starting", "running", "succeeded", "failed", "cancelled", "timed_out"] as const;
export const ENDED = new Set<string>(["succeeded", "failed", "cancelled", "timed_out"]);

export async function listTasks(filter: { status?: string }): Promise<Task[]> {
  return (await api<TaskList>(`/api/tasks${qs({ status: filter.status, limit: 200 })}`)).tasks;
}

export const getTask = (id: string) => api<Task>(`/api/tasks/${encodeURIComponent(id)}`);
export const startTask = (task: NewTask) => api<Task>("/api/tasks", { json: task });
export const cancelTask = (id: string) => api<Task>(`/api/tasks/${encodeURIComponent(id)}`, { method: "DELETE" });
export const approveTask = (id: string) => api<Task>(`/api/tasks/${encodeURIComponent(id)}/approve`, { method: "POST" });

/** "/srv/data" or "/srv/out:rw" per line → mounts. */
export function parseMounts(text: string): NewTask["mounts"] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => (l.endsWith(":rw") ? { path: l.slice(0, -3), writable: true } : { path: l.replace(/:ro$/, "") }));
}

const NAMES = ["progress", "status", "result"] as const;

/**
 * Follows a task's events with EventSource (the session cookie goes along);
 * the browser resumes a dropped stream with Last-Event-ID by itself. Returns
 * a function that stops it.
 */
export function followTask(id: string, onEvent: (ev: TaskEvent) => void, onEnd: () => void): () => void {
  const source = new EventSource(`/api/tasks/${encodeURIComponent(id)}/events`);
  for (const name of NAMES) {
    source.addEventListener(name, (e) => {
      const ev = { event: name, data: JSON.parse((e as MessageEvent<string>).data) } as TaskEvent;
      onEvent(ev);
      // The stream ends after the last status; without this the browser would reconnect and wait.
      if (ev.event === "status" && ENDED.has(ev.data.status)) source.close(), onEnd();
    });
  }
  return () => source.close();
}
