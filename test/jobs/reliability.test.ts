import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { JOBS_STREAM } from "../../core/protocol/subjects.ts";
import { makeApp, tempDir } from "../helpers/app.ts";
import { grammarsFile } from "../helpers/grammars.ts";
import { dispatchJob as dispatch, finalJob, jobOf as job } from "../helpers/jobs.ts";
import { type NatsServer, startNats, waitFor } from "../helpers/nats.ts";
import { killAllWorkers, spawnWorker } from "../helpers/workers.ts";
import { startAnthropicStandIn } from "../standins/anthropic.ts";
import { startOpenAIStandIn } from "../standins/openai.ts";
import { afterTool, and, firstRound, httpError, prompt, reply } from "../standins/script.ts";

/**
 * Real nats-server, real worker processes (`bun satellite/main.ts --mode
 * worker`), the real core in cluster mode. Every wait is on a condition with
 * a deadline.
 */
let nats: NatsServer;
const ACK_WAIT = "1500";
const workerEnv = {
  HEARTBEAT_INTERVAL_MS: "300",
  COMMAND_ALLOWLIST: "date,sleep",
  COMMAND_GRAMMARS_FILE: grammarsFile(),
  WORKER_CONCURRENCY: "4",
  DRAIN_TIMEOUT_MS: "10000",
};
// This suite runs on an open server; test/jobs/secured.test.ts runs the same path with identities.
const coreEnv = () => ({ NATS_URL: nats.url, NATS_INSECURE: "true", JOB_ACK_WAIT_MS: ACK_WAIT, HEARTBEAT_INTERVAL_MS: "300" });

beforeAll(async () => {
  nats = await startNats();
});
afterEach(async () => {
  await killAllWorkers();
});
afterAll(async () => {
  await killAllWorkers();
  await nats.cleanup();
});

type App = Awaited<ReturnType<typeof makeApp>>;
const counts = (h: App) =>
  Object.fromEntries((h.s.store.sqlite.query("SELECT status, count(*) AS n FROM jobs GROUP BY status").all() as { status: string; n: number }[]).map((r) => [r.status, r.n]));
const unpublished = (h: App) => (h.s.store.sqlite.query("SELECT count(*) AS n FROM jobs WHERE published_at IS NULL").get() as { n: number }).n;
const completedStatuses = (h: App) =>
  h.s.store.sqlite.query("SELECT job_id AS id, count(*) AS n FROM job_statuses WHERE status = 'completed' GROUP BY job_id").all() as { id: string; n: number }[];

describe("Jobs over NATS JetStream", () => {
  test("satellite workers beat into /api/system/health and run a command job", async () => {
    const h = await makeApp(coreEnv());
    try {
      spawnWorker(nats.url, "hb-1", workerEnv);
      const health = await waitFor(
        "worker heartbeat",
        async () => {
          const r = await (await h.request("/api/system/health")).json();
          return r.components.workers.status === "ok" ? r : undefined;
        },
        15_000,
      );
      expect(health.mode).toBe("cluster");
      expect(health.components.bus).toMatchObject({ status: "ok", kind: "nats" });
      expect(health.components.workers.workers.map((w: { id: string }) => w.id)).toContain("hb-1");
      const id = await dispatch(h, { type: "command", command: "date -u" });
      const done = await waitFor("completed", async () => ((await job(h, id)).status === "completed" ? job(h, id) : undefined));
      expect(done.workerId).toBe("hb-1");
      expect(done.result.stdout).toContain("UTC");
    } finally {
      await h.close();
    }
  }, 60_000);

  test("a worker killed with SIGKILL mid-job: another worker completes it, with exactly one completed status", async () => {
    const h = await makeApp(coreEnv());
    try {
      const a = spawnWorker(nats.url, "kill-a", { ...workerEnv, WORKER_CONCURRENCY: "1" });
      const b = spawnWorker(nats.url, "kill-b", { ...workerEnv, WORKER_CONCURRENCY: "1" });
      const id = await dispatch(h, { type: "command", argv: ["sleep", "2"] });
      const running = await waitFor(
        "running",
        async () => {
          const j = await job(h, id);
          return j.status === "running" ? j : undefined;
        },
        15_000,
      );
      const victim = running.workerId === "kill-a" ? a : b;
      const survivor = victim === a ? b : a;
      await victim.kill();
      const done = await waitFor(
        "completed by the survivor",
        async () => {
          const j = await job(h, id);
          return j.status === "completed" ? j : undefined;
        },
        15_000,
      );
      expect(done.workerId).toBe(survivor.id);
      expect(done.attempts).toBe(2);
      expect(done.history.filter((s: { status: string }) => s.status === "completed")).toHaveLength(1);
      expect(
        done.history
          .filter((s: { status: string }) => s.status === "running")
          .map((s: { workerId: string }) => s.workerId)
          .sort(),
      ).toEqual(["kill-a", "kill-b"]);
    } finally {
      await h.close();
    }
  }, 60_000);

  test("SIGTERM drains: the running job finishes and the worker exits 0", async () => {
    const h = await makeApp(coreEnv());
    try {
      const w = spawnWorker(nats.url, "drain-1", { ...workerEnv, WORKER_CONCURRENCY: "1" });
      const id = await dispatch(h, { type: "command", argv: ["sleep", "1"] });
      await waitFor("running", async () => (await job(h, id)).status === "running", 15_000);
      expect(await w.stop()).toBe(0);
      const done = await waitFor("completed", async () => {
        const j = await job(h, id);
        return j.status === "completed" ? j : undefined;
      });
      expect(done.workerId).toBe("drain-1");
      expect(w.log()).toContain("draining");
    } finally {
      await h.close();
    }
  }, 60_000);

  test("nats-server stopped and restarted mid-run: every dispatched job completes once", async () => {
    // An outage shorter than the ack wait keeps every worker's lease: no job runs twice.
    // (One longer than it hands running jobs to other workers: at least once, first final status wins.)
    const h = await makeApp({ ...coreEnv(), JOB_ACK_WAIT_MS: "8000" });
    try {
      spawnWorker(nats.url, "nr-a", workerEnv);
      spawnWorker(nats.url, "nr-b", workerEnv);
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push(await dispatch(h, { type: "command", argv: ["sleep", "0.4"] }));
      await waitFor("some running", () => (counts(h).running ?? 0) > 0, 15_000);
      await nats.stop();
      await waitFor("the core to see the bus down", async () => (await (await h.request("/api/system/health")).json()).components.bus.status !== "ok");
      // Dispatched while the server is down: kept in SQLite, published by the outbox after.
      for (let i = 0; i < 4; i++) ids.push(await dispatch(h, { type: "command", argv: ["date"] }));
      expect(unpublished(h)).toBeGreaterThanOrEqual(4);
      await nats.start();
      await waitFor("all 16 completed", () => counts(h).completed === 16, 40_000, 100);
      const once = completedStatuses(h);
      expect(once).toHaveLength(16);
      expect(once.every((r) => r.n === 1)).toBe(true);
      expect(new Set(once.map((r) => r.id))).toEqual(new Set(ids));
    } finally {
      await h.close();
    }
  }, 60_000);

  test("core restarted mid-run: job states catch up from the status stream", async () => {
    const dataDir = tempDir();
    spawnWorker(nats.url, "cr-a", workerEnv);
    spawnWorker(nats.url, "cr-b", workerEnv);
    const first = await makeApp(coreEnv(), { dataDir });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await dispatch(first, { type: "command", argv: ["sleep", "0.5"] }));
    await first.close(false);
    // Workers finish while no core listens; give them time to, then bring the core back.
    const second = await makeApp(coreEnv(), { dataDir });
    try {
      await waitFor("all 8 completed after restart", () => counts(second).completed === 8, 30_000, 100);
      for (const id of ids) expect((await job(second, id)).status).toBe("completed");
    } finally {
      await second.close(false);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  test("garbage and schema-violating messages are logged and skipped; consumers keep running", async () => {
    const h = await makeApp(coreEnv());
    const nc = await connect({ servers: nats.url });
    try {
      const w = spawnWorker(nats.url, "garbage-1", workerEnv);
      await waitFor("worker up", () => w.log().includes("worker started"), 15_000);
      const js = jetstream(nc);
      const enc = new TextEncoder();
      const junk = [
        enc.encode("not json at all {"),
        new Uint8Array([0xff, 0xfe, 0x00, 0x01]),
        enc.encode("[]"),
        enc.encode(JSON.stringify({ v: 1 })),
        enc.encode(JSON.stringify({ v: 99, id: "x", job: { type: "command", argv: ["date"] }, timeoutMs: 1000, createdAt: 1 })),
        enc.encode(JSON.stringify({ v: 1, id: "bad id with spaces", job: { type: "command", argv: ["date"] }, timeoutMs: 1000, createdAt: 1 })),
        enc.encode(JSON.stringify({ v: 1, id: "x1", job: { type: "shell", command: "touch /tmp/x" }, timeoutMs: 1000, createdAt: 1 })),
        new Uint8Array(900_000).fill(0x7b),
      ];
      for (const data of junk) await js.publish("bakerst.jobs.dispatch", data);
      for (const data of junk.slice(0, 5)) await js.publish("bakerst.jobs.status.garbage-job", data);
      nc.publish("bakerst.heartbeat.worker.fake", enc.encode("{not a heartbeat"));
      nc.publish("bakerst.heartbeat.worker.fake2", enc.encode(JSON.stringify({ v: 1, role: "worker", id: "other", at: 1, version: "x", intervalMs: 1000 })));

      const id = await dispatch(h, { type: "command", command: "date" });
      await waitFor("real job completes after garbage", async () => (await job(h, id)).status === "completed", 15_000);
      expect(w.proc.exitCode).toBeNull();
      expect(w.log().match(/skipping a job message that fails its schema/g)?.length).toBe(junk.length);
      const jsm = await jetstreamManager(nc);
      await waitFor("queue empty (garbage dropped, not redelivered)", async () => (await jsm.streams.info(JOBS_STREAM)).state.messages === 0);
      const health = await (await h.request("/api/system/health")).json();
      expect(health.components.workers.workers.map((x: { id: string }) => x.id)).not.toContain("other");
    } finally {
      await nc.close();
      await h.close();
    }
  }, 60_000);

  test("1,000 jobs across 3 workers: each runs exactly once", async () => {
    const hits = new Map<string, number>();
    const target = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        const n = new URL(req.url).searchParams.get("n")!;
        hits.set(n, (hits.get(n) ?? 0) + 1);
        return new Response("ok");
      },
    });
    const h = await makeApp(coreEnv());
    try {
      for (const id of ["k-1", "k-2", "k-3"]) spawnWorker(nats.url, id, { ...workerEnv, WORKER_CONCURRENCY: "16", LOG_LEVEL: "warn" });
      const ids: string[] = [];
      for (let batch = 0; batch < 20; batch++) {
        ids.push(...(await Promise.all(Array.from({ length: 50 }, (_, i) => dispatch(h, { type: "http", url: `http://127.0.0.1:${target.port}/hit?n=${batch * 50 + i}` })))));
      }
      await waitFor("1000 completed", () => counts(h).completed === 1000, 60_000, 100);
      expect(hits.size).toBe(1000);
      expect([...hits.values()].every((n) => n === 1)).toBe(true);
      const once = completedStatuses(h);
      expect(once).toHaveLength(1000);
      expect(once.every((r) => r.n === 1)).toBe(true);
      const byWorker = h.s.store.sqlite.query("SELECT worker_id AS w, count(*) AS n FROM jobs GROUP BY worker_id").all() as { w: string; n: number }[];
      expect(byWorker.map((r) => r.w).sort()).toEqual(["k-1", "k-2", "k-3"]);
    } finally {
      await h.close();
      target.stop(true);
    }
  }, 90_000);

  test("an agent job on a remote satellite uses its own model key; the core records the usage", async () => {
    const model = startAnthropicStandIn();
    const h = await makeApp(coreEnv());
    try {
      spawnWorker(nats.url, "agent-1", { ...workerEnv, ANTHROPIC_API_KEY: "sk-satellite", ANTHROPIC_BASE_URL: model.url, MODEL_WORKER: "anthropic:claude-haiku-5-5" });
      model.on(prompt("say something"), reply().text("remote answer").usage({ input: 120, output: 30 }));
      const id = await dispatch(h, { type: "agent", prompt: "say something" });
      const done = await finalJob(h, id);
      expect(done.status).toBe("completed");
      expect(done.result.text).toBe("remote answer");
      expect(JSON.stringify(model.requests[0]!.body.system)).toContain("You are a Baker Street worker");
      h.s.models.ledger.flush();
      const rows = h.s.store.sqlite.query("SELECT role, model, input_tokens AS i FROM usage").all();
      expect(rows).toEqual([{ role: "worker", model: "claude-haiku-5-5", i: 120 }]);
    } finally {
      await h.close();
      await model.stop();
    }
  }, 60_000);

  test("a remote satellite retries a 429 through the shared router, not the SDK's own retries", async () => {
    const model = startAnthropicStandIn();
    const h = await makeApp(coreEnv());
    try {
      spawnWorker(nats.url, "agent-retry", { ...workerEnv, ANTHROPIC_API_KEY: "sk-satellite", ANTHROPIC_BASE_URL: model.url, MODEL_WORKER: "anthropic:claude-haiku-5-5" });
      model.on(prompt("try twice"), httpError(429, { headers: { "retry-after": "0" } }), reply().text("after one retry").usage({ input: 10, output: 5 }));
      const id = await dispatch(h, { type: "agent", prompt: "try twice" });
      const done = await waitFor(
        "agent completed",
        async () => {
          const j = await job(h, id);
          return j.status === "completed" || j.status === "failed" ? j : undefined;
        },
        15_000,
      );
      expect(done.status).toBe("completed");
      expect(done.result.text).toBe("after one retry");
      expect(model.requests).toHaveLength(2);
      // The SDK counts its own retries in this header; both calls are first tries to it.
      expect(model.requests.map((r) => r.headers["x-stainless-retry-count"])).toEqual(["0", "0"]);
    } finally {
      await h.close();
      await model.stop();
    }
  }, 60_000);

  test("an agent job on a remote satellite can use an OpenAI-compatible server, tools included", async () => {
    const local = startOpenAIStandIn();
    const h = await makeApp(coreEnv());
    try {
      spawnWorker(nats.url, "agent-oai", { ...workerEnv, OPENAI_BASE_URL: local.url, MODEL_WORKER: "openai:llama3.1:8b" });
      local.on(
        and(prompt("what time is it?"), firstRound),
        reply()
          .tool("run_command", { argv: ["date", "-u"] }, "c1")
          .usage({ input: 90, output: 12 }),
      );
      local.on(afterTool("run_command"), reply().text("It is late in the UTC day.").usage({ input: 140, output: 8 }));
      const id = await dispatch(h, { type: "agent", prompt: "what time is it?" });
      const done = await finalJob(h, id);
      expect(done.status).toBe("completed");
      expect(done.result.text).toBe("It is late in the UTC day.");
      // The tool really ran on the satellite and its output went back to the model.
      const second = local.requests[1]!.body.messages;
      expect(second.find((m) => m.role === "tool")?.content).toContain(`UTC ${new Date().getUTCFullYear()}`);
      expect(local.requests[0]!.body.messages[0]).toMatchObject({ role: "system" });
      h.s.models.ledger.flush();
      const rows = h.s.store.sqlite.query("SELECT role, provider, model, input_tokens AS i FROM usage").all();
      expect(rows).toEqual([{ role: "worker", provider: "openai", model: "llama3.1:8b", i: 230 }]);
    } finally {
      await h.close();
      await local.stop();
    }
  }, 60_000);
});
