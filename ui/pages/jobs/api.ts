import { api, qs } from "../../api/client.ts";
import type { Job, JobDetail, JobList } from "../../api/types.ts";

export const JOB_TYPES = ["command", "http", "agent"] as const;
export const JOB_STATUSES = ["queued", "received", "running", "completed", "failed"] as const;

export async function listJobs(filter: { type?: string; status?: string }): Promise<Job[]> {
  return (await api<JobList>(`/api/jobs${qs({ type: filter.type, status: filter.status, limit: 200 })}`)).jobs;
}

export const getJob = (id: string) => api<JobDetail>(`/api/jobs/${encodeURIComponent(id)}`);

export type NewJob = { type: "command"; command: string } | { type: "http"; url: string } | { type: "agent"; prompt: string };
export const dispatchJob = (job: NewJob) => api<{ id: string; status: string }>("/api/jobs", { json: job });

/** When each status was reached: the statuses that moved the job forward. */
export const jobTimeline = (j: JobDetail) => j.history.filter((e) => e.applied);
