import { scheduleClock } from "../../core/schedules/area.ts";
import { systemClock } from "../../core/schedules/scheduler.ts";
import { makeApp } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import type { ManualClock } from "./clock.ts";

export type App = Awaited<ReturnType<typeof makeApp>>;

/** The app with the schedules' clock in the test's hand. */
export async function scheduleApp(clock: ManualClock, env: Record<string, string> = {}, dataDir?: string): Promise<App> {
  scheduleClock.current = clock;
  try {
    return await makeApp({ SCHEDULE_TIME_ZONE: "Europe/Berlin", ...env }, dataDir ? { dataDir } : {});
  } finally {
    scheduleClock.current = systemClock;
  }
}

export interface Run {
  id: string;
  dueAt: number;
  trigger: string;
  status: string;
  reason?: string;
  caughtUp: boolean;
  startedAt?: number;
  endedAt?: number;
  link?: { conversationId?: string; jobId?: string; taskId?: string };
  costUsd?: number;
}

export async function createSchedule(h: App, body: unknown): Promise<{ id: string; nextRunAt: number } & Record<string, unknown>> {
  const res = await h.request("/api/schedules", { method: "POST", json: body });
  const json = await res.json();
  if (res.status !== 201) throw new Error(`POST /api/schedules answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

export async function runsOf(h: App, id: string): Promise<Run[]> {
  const json = await (await h.request(`/api/schedules/${id}?runs=500`)).json();
  return (json.runs as Run[]).slice().sort((a, b) => a.dueAt - b.dueAt);
}

/** Waits until the schedule's runs satisfy `cond` (the timer's work is asynchronous after the clock moves). */
export function runsWhere(h: App, id: string, what: string, cond: (runs: Run[]) => boolean, timeoutMs = 10_000): Promise<Run[]> {
  return waitFor(
    what,
    async () => {
      const runs = await runsOf(h, id);
      return cond(runs) ? runs : undefined;
    },
    timeoutMs,
  );
}

export const ended = (r: Run) => r.status === "succeeded" || r.status === "failed" || r.status === "skipped";

export async function notifications(h: App, code?: string): Promise<{ code: string; message: string }[]> {
  const json = await (await h.request("/api/notifications?limit=200")).json();
  return (json.notifications as { code: string; message: string }[]).filter((n) => !code || n.code === code);
}
