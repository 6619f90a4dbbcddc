import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { encode, JobStatusV1, QUEUES, subjects, type JobStatusMessage } from "../../core/protocol/index.ts";
import { LocalBus } from "../../core/bus/local.ts";
import { makeApp } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";

// The tracker is driven through the real app with no worker; statuses are put on its bus by hand.
let h: Awaited<ReturnType<typeof makeApp>>;
let bus: LocalBus;
beforeAll(async () => {
  h = await makeApp({ EDGE_WORKER: "false" });
  // A second LocalBus on the app's SQLite file puts statuses on the queue its tracker reads.
  bus = new LocalBus(h.s.store.sqlite);
});
afterAll(async () => {
  await bus.close();
  await h.close();
});

const status = (jobId: string, s: JobStatusMessage["status"], extra: Partial<JobStatusMessage> = {}): JobStatusMessage => ({
  v: 1,
  jobId,
  status: s,
  workerId: "w1",
  attempt: 1,
  at: Date.now(),
  ...extra,
});
const sendRaw = (jobId: string, data: Uint8Array) => bus.queue(QUEUES.jobStatus, { ackWaitMs: 30_000 }).publish(data, { subject: subjects.jobStatus(jobId) });
const send = (m: JobStatusMessage) => sendRaw(m.jobId, encode(JobStatusV1, m));
const newJob = async () => (await (await h.request("/api/jobs", { method: "POST", json: { type: "command", command: "date" } })).json()).id as string;
const get = async (id: string) => (await h.request(`/api/jobs/${id}`)).json();

describe("Jobs status tracker", () => {
  test("statuses out of order end at the final one; a late 'running' does not move it back", async () => {
    const id = await newJob();
    await send(status(id, "completed", { result: { stdout: "ok" } }));
    await send(status(id, "received"));
    await send(status(id, "running"));
    const job = await waitFor("history of 3", async () => {
      const j = await get(id);
      return j.history.length === 3 ? j : undefined;
    });
    expect(job.status).toBe("completed");
    expect(job.result).toEqual({ stdout: "ok" });
    expect(job.history.map((s: { status: string; applied: boolean }) => [s.status, s.applied])).toEqual([
      ["completed", true],
      ["received", false],
      ["running", false],
    ]);
  }, 15_000);

  test("a duplicate status is stored once and a second final status does not replace the first", async () => {
    const id = await newJob();
    await send(status(id, "running"));
    await send(status(id, "running"));
    await send(status(id, "failed", { error: { code: "exit_code", message: "first" } }));
    await send(status(id, "completed", { workerId: "w2", attempt: 2, result: "late" }));
    const job = await waitFor("both finals seen", async () => {
      const j = await get(id);
      return j.history.length === 3 ? j : undefined;
    });
    expect(job.status).toBe("failed");
    expect(job.error.message).toBe("first");
    expect(job.history.filter((s: { status: string }) => s.status === "running")).toHaveLength(1);
  }, 15_000);

  test("garbage and unknown-job statuses are skipped and the tracker keeps going", async () => {
    const id = await newJob();
    await sendRaw(id, new TextEncoder().encode("not json {"));
    await sendRaw(id, new TextEncoder().encode(JSON.stringify({ v: 2, jobId: id })));
    await send(status("no-such-job", "completed"));
    await send(status(id, "completed", { result: 1 }));
    const job = await waitFor("completed after garbage", async () => {
      const j = await get(id);
      return j.status === "completed" ? j : undefined;
    });
    expect(job.result).toBe(1);
  }, 15_000);

  test("a remote agent job's usage is recorded in the ledger with the worker role", async () => {
    const id = await newJob();
    await send(
      status(id, "completed", {
        result: { text: "hi" },
        usage: { model: "claude-haiku-5-5", provider: "anthropic", inputTokens: 1000, outputTokens: 200, cacheReadTokens: 0, cacheWriteTokens: 0, recorded: false },
      }),
    );
    await waitFor("completed", async () => (await get(id)).status === "completed");
    const usage = await (await h.request("/api/usage")).json();
    expect(usage.totals).toMatchObject({ inputTokens: 1000, outputTokens: 200 });
    const rows = h.s.store.sqlite.query("SELECT role, model FROM usage").all();
    expect(rows).toEqual([{ role: "worker", model: "claude-haiku-5-5" }]);
  }, 15_000);
});
