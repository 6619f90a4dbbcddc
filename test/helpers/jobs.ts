import { expect } from "bun:test";
import type { makeApp } from "./app.ts";
import { waitFor } from "./nats.ts";

type App = Awaited<ReturnType<typeof makeApp>>;

/** POST /api/jobs; the job must be accepted (202). Returns its id. */
export async function dispatchJob(h: App, body: unknown): Promise<string> {
  const res = await h.request("/api/jobs", { method: "POST", json: body });
  expect(res.status).toBe(202);
  return (await res.json()).id;
}

/** GET /api/jobs/:id as JSON. */
export const jobOf = async (h: App, id: string) => (await h.request(`/api/jobs/${id}`)).json();

/** Waits until the job is completed or failed, and returns it. */
export const finalJob = (h: App, id: string, timeoutMs = 15_000) =>
  waitFor(
    `job ${id} to finish`,
    async () => {
      const j = await jobOf(h, id);
      return j.status === "completed" || j.status === "failed" ? j : undefined;
    },
    timeoutMs,
  );
