import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { jetstream } from "@nats-io/jetstream";
import { decode, encode, HeartbeatV1, JobLookupReplyV1, JobLookupV1, type JobStatusMessage, JobStatusV1, subjects } from "../../core/protocol/index.ts";
import { makeApp } from "../helpers/app.ts";
import { grammarsFile } from "../helpers/grammars.ts";
import { dispatchJob as dispatch, finalJob, jobOf as job } from "../helpers/jobs.ts";
import { waitFor } from "../helpers/nats.ts";
import { type SecuredNats, startSecuredNats } from "../helpers/nats-identities.ts";
import { killAllWorkers, spawnWorker } from "../helpers/workers.ts";

/**
 * The cluster path on a nats-server with identities: the core and a real
 * `bakerst-satellite --mode worker` each with their own credentials, and a
 * hostile client holding the worker identity.
 */
let nats: SecuredNats;
const ACK_WAIT = "1500";
const workerEnv = () => ({ NATS_CREDS: nats.credsFile({ role: "worker" }), HEARTBEAT_INTERVAL_MS: "300", COMMAND_ALLOWLIST: "date,sleep", COMMAND_GRAMMARS_FILE: grammarsFile() });
const coreEnv = () => ({ NATS_URL: nats.url, NATS_CREDS: nats.credsFile({ role: "core" }), JOB_ACK_WAIT_MS: ACK_WAIT, HEARTBEAT_INTERVAL_MS: "300" });

beforeAll(async () => {
  nats = await startSecuredNats();
});
afterEach(async () => {
  await killAllWorkers();
});
afterAll(async () => {
  await nats.cleanup();
});

type App = Awaited<ReturnType<typeof makeApp>>;
const health = async (h: App) => (await h.request("/api/system/health")).json();

describe("Jobs over NATS with identities", () => {
  test("a worker started before the core waits for it; then the core dispatches and the worker, with its own identity, completes the job", async () => {
    const w = spawnWorker(nats.url, "sec-first", workerEnv());
    await waitFor("the worker saying it waits for the core", () => w.log().includes("waiting for the core to create the job stream and consumer"), 15_000);
    const h = await makeApp(coreEnv());
    try {
      const id = await dispatch(h, { type: "command", command: "date -u" });
      const done = await finalJob(h, id);
      expect(done).toMatchObject({ status: "completed", workerId: "sec-first" });
      expect(done.result.stdout).toContain("UTC");
      const report = await health(h);
      expect(report.components.nats_auth).toMatchObject({ status: "ok", detail: "anonymous connections are refused" });
      expect(report.components.bus).toMatchObject({ status: "ok", kind: "nats" });
      // Nothing the worker does is refused by the server.
      expect(w.log()).not.toContain("Permissions Violation");
    } finally {
      await h.close();
    }
  }, 60_000);

  test("with the worker identity, a worker asks the core over request/reply whether a job is final, and gets what the core knows", async () => {
    const h = await makeApp(coreEnv());
    const asker = await nats.connectAs({ role: "worker" });
    try {
      spawnWorker(nats.url, "sec-lookup", workerEnv());
      const id = await dispatch(h, { type: "command", command: "date -u" });
      await finalJob(h, id);
      const reply = await asker.nc.request(subjects.jobLookup(), encode(JobLookupV1, { v: 1, jobId: id }), { timeout: 5_000 });
      const known = decode(JobLookupReplyV1, reply.data);
      expect(known.ok && known.value).toEqual({ v: 1, jobId: id, status: "completed", attempts: 1 });
      const unknown = decode(JobLookupReplyV1, (await asker.nc.request(subjects.jobLookup(), encode(JobLookupV1, { v: 1, jobId: "no-such-job" }), { timeout: 5_000 })).data);
      expect(unknown.ok && unknown.value).toEqual({ v: 1, jobId: "no-such-job", attempts: 0 });
      expect(asker.errors).toEqual([]);
    } finally {
      await asker.nc.close();
      await h.close();
    }
  }, 60_000);

  test("a forged 'completed' for a job running on worker A changes nothing; A's real result wins", async () => {
    const h = await makeApp(coreEnv());
    const hostile = await nats.connectAs({ role: "worker" });
    try {
      spawnWorker(nats.url, "sec-a", workerEnv());
      const id = await dispatch(h, { type: "command", argv: ["sleep", "3"] });
      await waitFor("running on sec-a", async () => (await job(h, id)).status === "running", 15_000);
      const leaseAt = () => (h.s.store.sqlite.query("SELECT lease_at AS t FROM jobs WHERE id = ?").get(id) as { t: number }).t;
      const firstLease = leaseAt();
      const js = jetstream(hostile.nc);
      const forge = (m: Partial<JobStatusMessage>) =>
        js.publish(
          subjects.jobStatus(id),
          encode(JobStatusV1, {
            v: 1,
            jobId: id,
            status: "completed",
            workerId: "sec-a-impostor",
            attempt: 1,
            at: Date.now(),
            result: { stdout: "forged" },
            usage: { model: "m", provider: "anthropic", inputTokens: 9_000_000, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0, recorded: false },
            ...m,
          }),
        );
      await forge({});
      await forge({ workerId: "x", status: "received", attempt: 2 });
      await forge({ workerId: "x", attempt: 2 });
      // A has now run longer than an ack wait: only its repeated `running` keeps its hold on the job.
      await waitFor("A renewing its lease past one ack wait", () => leaseAt() - firstLease >= Number(ACK_WAIT), 10_000);
      expect((await job(h, id)).status).toBe("running");
      await forge({ workerId: "y", status: "received", attempt: 9 });
      await forge({ workerId: "y", attempt: 9 });
      const done = await finalJob(h, id);
      expect(done).toMatchObject({ status: "completed", workerId: "sec-a", attempts: 1 });
      expect(done.result.stdout).toBe("");
      const forged = done.history.filter((s: { workerId: string }) => s.workerId !== "sec-a");
      expect(forged.map((s: { status: string; workerId: string; attempt: number; applied: boolean }) => [s.status, s.workerId, s.attempt, s.applied])).toEqual([
        ["completed", "sec-a-impostor", 1, false],
        ["received", "x", 2, false],
        ["completed", "x", 2, false],
        ["received", "y", 9, false],
        ["completed", "y", 9, false],
      ]);
      h.s.models.ledger.flush();
      expect(h.s.store.sqlite.query("SELECT count(*) AS n FROM usage").get()).toEqual({ n: 0 });
    } finally {
      await hostile.nc.close();
      await h.close();
    }
  }, 60_000);

  test("50,000 fake worker heartbeats from the worker identity leave health small and bounded", async () => {
    const h = await makeApp(coreEnv());
    const hostile = await nats.connectAs({ role: "worker" });
    try {
      spawnWorker(nats.url, "sec-hb", workerEnv());
      await waitFor("the real worker in health", async () => (await health(h)).components.workers.workers.some((w: { id: string }) => w.id === "sec-hb"), 15_000);
      const before = (await health(h)).components.workers.count as number;
      for (let i = 0; i < 50_000; i++) {
        const id = `fake-${i}`;
        hostile.nc.publish(
          subjects.heartbeat("worker", id),
          encode(HeartbeatV1, { v: 1, role: "worker", id, at: Date.now(), version: "x", intervalMs: 60_000, host: "h".repeat(256) }),
        );
      }
      hostile.nc.publish(subjects.heartbeat("worker", "huge"), new Uint8Array(500_000).fill(0x20));
      await hostile.nc.flush();
      const after = await waitFor(
        "every fake beat counted",
        async () => {
          const w = (await health(h)).components.workers;
          return w.count + (w.dropped?.full ?? 0) === before + 50_000 && w.dropped?.invalid === 1 ? w : undefined;
        },
        30_000,
        100,
      );
      expect(after.count).toBe(1_000);
      expect(after.workers.length).toBeLessThanOrEqual(20);
      const text = JSON.stringify(await health(h));
      expect(text.length).toBeLessThan(16_384);
      // The real worker keeps beating and stays known.
      await waitFor("the real worker still in health", async () => (await health(h)).components.workers.workers.some((w: { id: string }) => w.id === "sec-hb"), 10_000);
    } finally {
      await hostile.nc.close();
      await h.close();
    }
  }, 60_000);
});
