import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { LocalBus } from "../../core/bus/local.ts";
import { encode, type JobStatusMessage, JobStatusV1, QUEUES, subjects } from "../../core/protocol/index.ts";
import { makeApp } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";

// The tracker is driven through the real app with no worker; statuses are put on its bus by hand.
let h: Awaited<ReturnType<typeof makeApp>>;
let bus: LocalBus;
/** The same queue, stamping what it stores 40 s and 10 s in the past: the tracker measures leases by the bus's clock. */
let earlier: LocalBus;
let recently: LocalBus;
const ACK_WAIT = 30_000;
beforeAll(async () => {
  h = await makeApp({ EDGE_WORKER: "false", JOB_ACK_WAIT_MS: String(ACK_WAIT) });
  // A second LocalBus on the app's SQLite file puts statuses on the queue its tracker reads.
  bus = new LocalBus(h.s.store.sqlite);
  earlier = new LocalBus(h.s.store.sqlite, () => Date.now() - 40_000);
  recently = new LocalBus(h.s.store.sqlite, () => Date.now() - 10_000);
});
afterAll(async () => {
  await Promise.all([bus.close(), earlier.close(), recently.close()]);
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
const sendRaw = (jobId: string, data: Uint8Array, via = bus) => via.queue(QUEUES.jobStatus, { ackWaitMs: 30_000 }).publish(data, { subject: subjects.jobStatus(jobId) });
const send = (m: JobStatusMessage, via = bus) => sendRaw(m.jobId, encode(JobStatusV1, m), via);
type Row = { status: string; workerId: string; attempt: number; applied: boolean };
const completed = (id: string) =>
  waitFor("completed", async () => {
    const j = await get(id);
    return j.status === "completed" ? j : undefined;
  });
const historyOf = (j: { history: Row[] }) => j.history.map((r) => [r.status, r.workerId, r.attempt, r.applied]);
const newJob = async () => (await (await h.request("/api/jobs", { method: "POST", json: { type: "command", command: "date" } })).json()).id as string;
const get = async (id: string) => (await h.request(`/api/jobs/${id}`)).json();

describe("Jobs status tracker", () => {
  test("statuses out of order end at the final one; a late 'running' does not move it back", async () => {
    const id = await newJob();
    await send(status(id, "received"));
    await send(status(id, "completed", { result: { stdout: "ok" } }));
    await send(status(id, "running"));
    const job = await waitFor("history of 3", async () => {
      const j = await get(id);
      return j.history.length === 3 ? j : undefined;
    });
    expect(job.status).toBe("completed");
    expect(job.result).toEqual({ stdout: "ok" });
    expect(job.history.map((s: { status: string; applied: boolean }) => [s.status, s.applied])).toEqual([
      ["received", true],
      ["completed", true],
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
    await send(status(id, "received"));
    await send(status(id, "completed", { result: 1 }));
    const job = await waitFor("completed after garbage", async () => {
      const j = await get(id);
      return j.status === "completed" ? j : undefined;
    });
    expect(job.result).toBe(1);
  }, 15_000);

  test("a remote agent job's usage is recorded in the ledger with the worker role", async () => {
    const id = await newJob();
    await send(status(id, "received"));
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

describe("Jobs status tracker: only the worker holding a job moves it", () => {
  test("a final status for a job no worker has reported receiving changes nothing", async () => {
    const id = await newJob();
    await send(status(id, "completed", { workerId: "forger", result: "forged" }));
    const job = await waitFor("the forged status in the history", async () => {
      const j = await get(id);
      return j.history.length === 1 ? j : undefined;
    });
    expect(job.status).toBe("queued");
    expect(job.result).toBeUndefined();
    expect(historyOf(job)).toEqual([["completed", "forger", 1, false]]);
  }, 15_000);

  test("the first 'received' claims the job: another worker's completed, at any delivery, is kept out while the holder reports in", async () => {
    const id = await newJob();
    await send(status(id, "received", { workerId: "w-a" }));
    await send(status(id, "running", { workerId: "w-a" }));
    await send(status(id, "completed", { workerId: "forger", result: "forged" }));
    await send(status(id, "received", { workerId: "forger", attempt: 7 }));
    await send(status(id, "completed", { workerId: "forger", attempt: 7, result: "forged again" }));
    await send(status(id, "completed", { workerId: "w-a", result: "real" }));
    const job = await completed(id);
    expect(job.result).toBe("real");
    expect(job.workerId).toBe("w-a");
    expect(historyOf(job)).toEqual([
      ["received", "w-a", 1, true],
      ["running", "w-a", 1, true],
      ["completed", "forger", 1, false],
      ["received", "forger", 7, false],
      ["completed", "forger", 7, false],
      ["completed", "w-a", 1, true],
    ]);
  }, 15_000);

  test("a later delivery takes the job over once its holder has been silent for longer than the ack wait", async () => {
    const id = await newJob();
    await send(status(id, "received", { workerId: "w-dead" }), earlier);
    await send(status(id, "running", { workerId: "w-dead" }), earlier);
    // Same delivery number: not a redelivery, refused however long the holder was silent.
    await send(status(id, "received", { workerId: "w-other" }));
    await send(status(id, "received", { workerId: "w-next", attempt: 2 }));
    await send(status(id, "running", { workerId: "w-next", attempt: 2 }));
    await send(status(id, "completed", { workerId: "w-dead", result: "too late" }));
    await send(status(id, "completed", { workerId: "w-next", attempt: 2, result: "taken over" }));
    const job = await completed(id);
    expect(job).toMatchObject({ result: "taken over", workerId: "w-next", attempts: 2 });
    expect(historyOf(job)).toEqual([
      ["received", "w-dead", 1, true],
      ["running", "w-dead", 1, true],
      ["received", "w-other", 1, false],
      ["received", "w-next", 2, true],
      ["running", "w-next", 2, false],
      ["completed", "w-dead", 1, false],
      ["completed", "w-next", 2, true],
    ]);
  }, 15_000);

  test("a holder repeating its 'running' keeps the job: a takeover is refused while it reports within the ack wait", async () => {
    const id = await newJob();
    await send(status(id, "received", { workerId: "w-long" }), earlier);
    await send(status(id, "running", { workerId: "w-long" }), earlier);
    await send(status(id, "running", { workerId: "w-long" }), recently);
    await send(status(id, "received", { workerId: "forger", attempt: 2 }));
    await send(status(id, "completed", { workerId: "forger", attempt: 2, result: "forged" }));
    await send(status(id, "completed", { workerId: "w-long", result: "real" }));
    const job = await completed(id);
    expect(job).toMatchObject({ result: "real", workerId: "w-long", attempts: 1 });
    expect(historyOf(job).filter((r) => r[1] === "forger")).toEqual([
      ["received", "forger", 2, false],
      ["completed", "forger", 2, false],
    ]);
  }, 15_000);
});
