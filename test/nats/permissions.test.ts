import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { AckPolicy, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { createUser } from "@nats-io/nkeys";
import { connect, nkeyAuthenticator } from "@nats-io/transport-node";
import { NatsBus } from "../../core/bus/nats.ts";
import { natsAuthenticator } from "../../core/bus/nats-connect.ts";
import { inboxPrefix, ROLE_PERMISSIONS } from "../../core/protocol/permissions.ts";
import { KEYED_QUEUES, QUEUES } from "../../core/protocol/queues.ts";
import { COMPANION_TASKS_STREAM, companionTaskConsumer, JOBS_CONSUMER, JOBS_STREAM, STATUS_CONSUMER, STATUS_STREAM, subjects } from "../../core/protocol/subjects.ts";
import { waitFor } from "../helpers/nats.ts";
import { type Client, publishRefused, type SecuredNats, startSecuredNats, subscribeRefused } from "../helpers/nats-identities.ts";

/**
 * A real nats-server with the config `bakerst nats init` writes. Each
 * forbidden action is tried by the identity named in the test and must be
 * refused by the server itself, with nothing received or changed.
 */
let nats: SecuredNats;
let core: NatsBus;
let admin: JetStreamManager;
let worker: Client;
/** Everything the core hears on the subjects it listens to. */
const heard: string[] = [];

beforeAll(async () => {
  nats = await startSecuredNats({ companions: ["a", "b"], extensions: ["x"] });
  const file = nats.credsFile({ role: "core" });
  core = await NatsBus.open({ url: nats.url, name: "core", authenticator: natsAuthenticator(readFileSync(file), file), inboxPrefix: inboxPrefix({ role: "core" }) });
  admin = await jetstreamManager(core.nc);
  for (const s of [
    subjects.heartbeatAll(),
    subjects.companionAnnounce(),
    subjects.companionHeartbeatAll(),
    subjects.extensionAnnounce(),
    subjects.extensionHeartbeatAll(),
    subjects.taskProgressAll(),
    subjects.taskResultAll(),
  ]) {
    core.nc.subscribe(s, { callback: (_e, m) => void heard.push(m.subject) });
  }
  await core.nc.flush();
  // Something in each stream for a thief to go after.
  const jobs = await core.declare(QUEUES.jobs, { ackWaitMs: 30_000 });
  await core.declare(QUEUES.jobStatus, { ackWaitMs: 30_000 });
  await core.keyed(KEYED_QUEUES.companionTasks, { ackWaitMs: 30_000 });
  await jobs.publish(new TextEncoder().encode('{"secret":"a job"}'));
  worker = await nats.connectAs({ role: "worker" });
  await jetstream(worker.nc).publish(subjects.jobStatus("job-1"), '{"secret":"a status"}');
}, 30_000);
afterAll(async () => {
  await core.close();
  await nats.cleanup();
});

const messages = async (stream: string) => (await admin.streams.info(stream)).state.messages;
const consumers = async (stream: string) => (await admin.consumers.list(stream).next()).map((c) => c.name).sort();

describe("NATS identities: what the server refuses", () => {
  test("a client without credentials, or with a key the config does not know, is refused", async () => {
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow("Authorization Violation");
    const stranger = createUser();
    await expect(connect({ servers: nats.url, reconnect: false, authenticator: nkeyAuthenticator(stranger.getSeed()) })).rejects.toThrow("Authorization Violation");
  });

  test("a worker cannot dispatch a job, on core NATS or through JetStream", async () => {
    const before = await messages(JOBS_STREAM);
    await publishRefused(worker, subjects.jobDispatch());
    await expect(jetstream(worker.nc).publish(subjects.jobDispatch(), "forged", { timeout: 3_000 })).rejects.toThrow(
      `Permissions Violation for Publish to "${subjects.jobDispatch()}"`,
    );
    expect(await messages(JOBS_STREAM)).toBe(before);
  });

  test("a worker cannot listen to statuses, jobs or everything", async () => {
    for (const subject of [subjects.jobStatusAll(), subjects.jobDispatch(), "bakerst.jobs.>", "bakerst.>", ">"]) {
      const sub = await subscribeRefused(worker, subject);
      expect(sub.error).toBe(`Permissions Violation for Subscription to "${subject}"`);
      await jetstream(worker.nc).publish(subjects.jobStatus("job-2"), "{}");
      await core.queue(QUEUES.jobs, { ackWaitMs: 30_000 }).publish(new TextEncoder().encode("{}"));
      // Both were stored (so routed) before these resolved; the flush brings anything routed to this connection.
      await worker.nc.flush();
      expect(sub.received()).toBe(0);
    }
  });

  test("a worker cannot create, change or delete consumers on either stream", async () => {
    const wjsm = await jetstreamManager(worker.nc);
    const before = { jobs: await consumers(JOBS_STREAM), status: await consumers(STATUS_STREAM) };
    expect(before).toEqual({ jobs: [JOBS_CONSUMER], status: [STATUS_CONSUMER] });
    for (const stream of [JOBS_STREAM, STATUS_STREAM]) {
      await expect(wjsm.consumers.add(stream, { durable_name: "THIEF", ack_policy: AckPolicy.None })).rejects.toThrow('Permissions Violation for Publish to "$JS.API.CONSUMER.');
      await expect(wjsm.consumers.add(stream, { ack_policy: AckPolicy.None })).rejects.toThrow("Permissions Violation");
    }
    await expect(wjsm.consumers.update(JOBS_STREAM, JOBS_CONSUMER, { max_ack_pending: 1 })).rejects.toThrow("Permissions Violation");
    await expect(wjsm.consumers.delete(STATUS_STREAM, STATUS_CONSUMER)).rejects.toThrow("Permissions Violation");
    expect({ jobs: await consumers(JOBS_STREAM), status: await consumers(STATUS_STREAM) }).toEqual(before);
  });

  test("a worker cannot read either stream's messages (STREAM.MSG.GET, direct get, stream info)", async () => {
    const wjsm = await jetstreamManager(worker.nc);
    await expect(wjsm.streams.getMessage(STATUS_STREAM, { last_by_subj: subjects.jobStatus("job-1") })).rejects.toThrow(
      `Permissions Violation for Publish to "$JS.API.STREAM.MSG.GET.${STATUS_STREAM}"`,
    );
    await expect(wjsm.streams.getMessage(JOBS_STREAM, { seq: 1 })).rejects.toThrow(`Permissions Violation for Publish to "$JS.API.STREAM.MSG.GET.${JOBS_STREAM}"`);
    await expect(worker.nc.request(`$JS.API.DIRECT.GET.${STATUS_STREAM}`, '{"seq":1}', { timeout: 3_000 })).rejects.toThrow("Permissions Violation");
    await expect(wjsm.streams.info(JOBS_STREAM)).rejects.toThrow("Permissions Violation");
  });

  test("a worker cannot purge, delete or change a stream", async () => {
    const wjsm = await jetstreamManager(worker.nc);
    const before = { jobs: await messages(JOBS_STREAM), status: await messages(STATUS_STREAM) };
    expect(before.status).toBeGreaterThan(0);
    for (const stream of [JOBS_STREAM, STATUS_STREAM]) {
      await expect(wjsm.streams.purge(stream)).rejects.toThrow(`Permissions Violation for Publish to "$JS.API.STREAM.PURGE.${stream}"`);
      await expect(wjsm.streams.delete(stream)).rejects.toThrow(`Permissions Violation for Publish to "$JS.API.STREAM.DELETE.${stream}"`);
      await expect(wjsm.streams.update(stream, { max_msgs: 1 })).rejects.toThrow("Permissions Violation");
    }
    await expect(wjsm.streams.add({ name: "THIEF", subjects: ["bakerst.>"] })).rejects.toThrow("Permissions Violation");
    expect({ jobs: await messages(JOBS_STREAM), status: await messages(STATUS_STREAM) }).toEqual(before);
  });

  test("a worker cannot beat as the brain, a companion or an extension; its own heartbeat gets through", async () => {
    for (const subject of [
      subjects.heartbeat("brain", "x"),
      subjects.heartbeat("companion", "a"),
      subjects.heartbeat("extension", "x"),
      subjects.companionHeartbeat("a"),
      subjects.extensionAnnounce(),
    ]) {
      await publishRefused(worker, subject);
    }
    worker.nc.publish(subjects.heartbeat("worker", "w-real"), "{}");
    await waitFor("the worker's own heartbeat at the core", () => heard.includes(subjects.heartbeat("worker", "w-real")));
    expect(heard.filter((s) => s.includes(".brain.") || s.includes("companion") || s.includes("extension"))).toEqual([]);
  });

  test("no identity can read another's replies: a worker cannot subscribe to the core's inbox or the default one", async () => {
    for (const subject of ["_INBOX_core.>", "_INBOX.>", "_INBOX_companion_a.>", "_INBOX_*.>"]) {
      expect((await subscribeRefused(worker, subject)).error).toBe(`Permissions Violation for Subscription to "${subject}"`);
    }
    const a = await nats.connectAs({ role: "companion", id: "a" });
    expect((await subscribeRefused(a, "_INBOX_companion_b.>")).error).toContain("Permissions Violation");
    expect((await subscribeRefused(a, "_INBOX_worker.>")).error).toContain("Permissions Violation");
  });

  test("a worker that does not use its inbox prefix gets no JetStream acks: replies only come back under it", async () => {
    const stray = await nats.connectAs({ role: "worker" }, { inboxPrefix: "_INBOX" });
    await expect(jetstream(stray.nc).publish(subjects.jobStatus("job-3"), "{}", { timeout: 2_000 })).rejects.toThrow();
    await waitFor("the refused inbox subscription", () => stray.errors.find((e) => e.startsWith('Permissions Violation for Subscription to "_INBOX.')));
  });

  test("a worker can ask the core about a job (request/reply), and the core may answer only that request", async () => {
    const responder = core.nc.subscribe(subjects.jobLookup(), { callback: (_e, m) => void m.respond('{"final":false}') });
    // Once flushed, the server has the subscription: the request finds its responder.
    await core.nc.flush();
    try {
      const reply = await worker.nc.request(subjects.jobLookup(), '{"jobId":"job-1"}', { timeout: 3_000 });
      expect(reply.string()).toBe('{"final":false}');
      const c = await nats.connectAs({ role: "core" });
      await publishRefused(c, "_INBOX_worker.anything");
    } finally {
      responder.unsubscribe();
    }
  });

  test("companion A cannot speak or pull as companion B", async () => {
    const a = await nats.connectAs({ role: "companion", id: "a" });
    for (const subject of [
      subjects.companionHeartbeat("b"),
      subjects.heartbeat("companion", "b"),
      subjects.heartbeat("worker", "a"),
      subjects.jobStatus("job-1"),
      subjects.jobDispatch(),
    ]) {
      await publishRefused(a, subject);
    }
    for (const subject of [subjects.companionTask("b"), subjects.companionTask("a"), subjects.companionTaskAll(), "bakerst.companions.>"]) {
      expect((await subscribeRefused(a, subject)).error).toBe(`Permissions Violation for Subscription to "${subject}"`);
    }
    await publishRefused(a, `$JS.API.CONSUMER.MSG.NEXT.${COMPANION_TASKS_STREAM}.${companionTaskConsumer("b")}`);
    a.nc.publish(subjects.companionHeartbeat("a"), "{}");
    a.nc.publish(subjects.companionAnnounce(), "{}");
    await waitFor(
      "companion a's own heartbeat and announcement at the core",
      () => heard.includes(subjects.companionHeartbeat("a")) && heard.includes(subjects.companionAnnounce()),
    );
    expect(heard.filter((s) => s.includes(".b.") || s.endsWith(".b"))).toEqual([]);
  });

  test("an extension hears nothing of jobs or tasks and cannot dispatch", async () => {
    const x = await nats.connectAs({ role: "extension", id: "x" });
    for (const subject of [subjects.jobDispatch(), subjects.jobStatusAll(), "bakerst.jobs.>", subjects.taskResultAll(), subjects.taskProgressAll(), subjects.companionTask("a")]) {
      const sub = await subscribeRefused(x, subject);
      expect(sub.error).toBe(`Permissions Violation for Subscription to "${subject}"`);
    }
    for (const subject of [subjects.jobDispatch(), subjects.jobStatus("job-1"), subjects.taskResult("t1"), subjects.extensionHeartbeat("y"), "$JS.API.INFO"]) {
      await publishRefused(x, subject);
    }
    x.nc.publish(subjects.extensionHeartbeat("x"), "{}");
    await waitFor("extension x's own heartbeat at the core", () => heard.includes(subjects.extensionHeartbeat("x")));
  });

  test("a task runner reports progress and results and does nothing else: no jobs, no heartbeats, no listening to other tasks", async () => {
    const t = await nats.connectAs({ role: "task" });
    for (const subject of [subjects.taskProgressAll(), subjects.taskResultAll(), subjects.taskProgress("t1"), "bakerst.tasks.>", subjects.jobStatusAll(), ">"]) {
      expect((await subscribeRefused(t, subject)).error).toBe(`Permissions Violation for Subscription to "${subject}"`);
    }
    for (const subject of [
      subjects.jobDispatch(),
      subjects.jobStatus("job-1"),
      subjects.heartbeat("worker", "t"),
      subjects.companionAnnounce(),
      subjects.extensionAnnounce(),
      "$JS.API.INFO",
    ]) {
      await publishRefused(t, subject);
    }
    t.nc.publish(subjects.taskProgress("t1"), "{}");
    t.nc.publish(subjects.taskResult("t1"), "{}");
    await waitFor("the task's reports at the core", () => heard.includes(subjects.taskProgress("t1")) && heard.includes(subjects.taskResult("t1")));
  });

  test("every role has a doc line, and no role but the core may administer JetStream", () => {
    for (const [role, entry] of Object.entries(ROLE_PERMISSIONS)) {
      expect(entry.doc.length).toBeGreaterThan(20);
      const p = entry.permissions("someone");
      if (role !== "core") {
        expect(p.publish.filter((s) => s === "$JS.API.>" || s === ">" || s.startsWith("bakerst.jobs.dispatch"))).toEqual([]);
        expect(p.subscribe.filter((s) => !s.startsWith("_INBOX_"))).toEqual([]);
      }
    }
  });
});
