import { api } from "../../api/client.ts";
import type { NewSchedule, Schedule, ScheduleDetail, ScheduleList, SchedulePreview, ScheduleRun, ScheduleWhen } from "../../api/types.ts";

const path = (id: string) => `/api/schedules/${encodeURIComponent(id)}`;

export const listSchedules = () => api<ScheduleList>("/api/schedules");
export const getSchedule = (id: string) => api<ScheduleDetail>(`${path(id)}?runs=50`);
export const createSchedule = (s: NewSchedule) => api<Schedule>("/api/schedules", { json: s });
export const saveSchedule = (id: string, s: NewSchedule) => api<Schedule>(path(id), { method: "PUT", json: s });
export const deleteSchedule = (id: string) => api<{ deleted: true }>(path(id), { method: "DELETE" });
export const runSchedule = (id: string) => api<ScheduleRun>(`${path(id)}/run`, { method: "POST" });
export const pauseSchedule = (id: string, paused: boolean) => api<Schedule>(`${path(id)}/${paused ? "pause" : "resume"}`, { method: "POST" });
export const previewSchedule = (when: ScheduleWhen, timeZone?: string) =>
  api<SchedulePreview>("/api/schedules/preview", { json: { when, ...(timeZone ? { timeZone } : {}), count: 5 } });

/** The viewer's own zone, for the second clock beside the schedule's. */
export const viewerZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** A due time as the viewer's browser reads it. */
export const inViewerZone = (ms: number | null) => (ms === null ? "—" : new Date(ms).toLocaleString([], { dateStyle: "medium", timeStyle: "medium" }));

export function describeWhen(w: ScheduleWhen): string {
  if ("cron" in w) return `cron ${w.cron}`;
  if ("at" in w) return `once at ${w.at}`;
  return w.every % 3600 === 0 ? `every ${w.every / 3600} h` : w.every % 60 === 0 ? `every ${w.every / 60} min` : `every ${w.every} s`;
}

/** The form's timing fields → a `when`. */
export function whenFrom(mode: string, text: string): ScheduleWhen | undefined {
  const t = text.trim();
  if (!t) return undefined;
  if (mode === "cron") return { cron: t };
  if (mode === "at") return { at: t };
  const n = Number(t);
  return Number.isInteger(n) && n > 0 ? { every: n } : undefined;
}

export const whenText = (w: ScheduleWhen) => ("cron" in w ? w.cron : "at" in w ? w.at : String(w.every));
export const whenMode = (w: ScheduleWhen) => ("cron" in w ? "cron" : "at" in w ? "at" : "every");
