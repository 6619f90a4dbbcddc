import { api, qs } from "../../api/client.ts";
import type { Job } from "../../api/types.ts";

export const JOB_TYPES = ["command", "http", "agent"] as const;
export const JOB_STATUSES = ["queued", "received", "running", "completed", "failed"] as const;

/** GET /api/jobs; accepts a bare array or `{ jobs }` / `{ items }` so the page does not depend on the envelope. */
export async function listJobs(filter: { type?: string; status?: string }): Promise<Job[]> {
  const body = await api<unknown>(`/api/jobs${qs({ type: filter.type, status: filter.status, limit: 200 })}`);
  const list = (Array.isArray(body) ? body : ((body as { jobs?: Job[]; items?: Job[] }).jobs ?? (body as { items?: Job[] }).items ?? [])) as Job[];
  return list.filter((j) => (!filter.type || j.type === filter.type) && (!filter.status || j.status === filter.status));
}

export const getJob = (id: string) => api<Job>(`/api/jobs/${encodeURIComponent(id)}`);

export type NewJob = { type: "command"; command: string } | { type: "http"; url: string; method?: string } | { type: "agent"; prompt: string };
export const dispatchJob = (job: NewJob) => api<{ id: string; status: string }>("/api/jobs", { json: job });

/** What the job was asked to do, whatever the API calls it. */
export function jobInput(j: Job): unknown {
  return j.spec ?? j.input ?? j.request ?? undefined;
}

/** When each status was reached, from a history list if the API gives one. */
export function jobTimeline(j: Job): { status: string; at: number | string }[] {
  const h = (j.statuses ?? j.history ?? j.events) as { status?: string; at?: number | string }[] | undefined;
  if (!Array.isArray(h)) return [];
  return h.filter((e) => e?.status && e.at !== undefined && (e as { applied?: boolean }).applied !== false).map((e) => ({ status: e.status!, at: e.at! }));
}
