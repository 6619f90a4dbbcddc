import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "@nats-io/transport-node";
import { natsAuthenticator } from "../../core/bus/nats-connect.ts";
import { inboxPrefix, Signer, subjects } from "../../core/protocol/index.ts";
import { waitFor } from "../helpers/nats.ts";
import { type CompanionWorld, companionWorld } from "./harness.ts";

/** The shape (100 tasks, 3 cuts), scaled by COMPANION_RELIABILITY_TASKS for a slow machine. */
const TASKS = Number(process.env.COMPANION_RELIABILITY_TASKS ?? 100);
const ENDED = ["succeeded", "failed", "cancelled", "timed_out"];

let w: CompanionWorld | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

interface TaskView {
  id: string;
  status: string;
  output?: string;
  error?: { code: string; message: string };
}

async function submit(world: CompanionWorld, name: string, script: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await world.app.request(`/api/companions/${name}/tasks`, { method: "POST", json: { mode: "script", script, ...extra } });
  expect(res.status).toBe(202);
  return ((await res.json()) as TaskView).id;
}

const get = async (world: CompanionWorld, id: string) => (await (await world.app.request(`/api/tasks/${id}`)).json()) as TaskView;

async function events(world: CompanionWorld, id: string): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const text = await (await world.app.request(`/api/tasks/${id}/events`)).text();
  return text
    .split("\n\n")
    .filter(Boolean)
    .map((block) => {
      const lines = block.split("\n");
      return { event: lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "", data: JSON.parse(lines.find((l) => l.startsWith("data: "))?.slice(6) ?? "{}") };
    });
}

describe("Companions: nothing lost while the link is down", () => {
  test(`${TASKS} tasks while NATS is stopped three times: every result arrives exactly once, in order, none lost`, async () => {
    w = await companionWorld();
    const { bundle } = await w.pair("nas");
    w.start(bundle, { WORKER_CONCURRENCY: "8" });
    await waitFor("the companion to come online", async () => (await w!.status("nas")).status === "online", 20_000);
    const ids: string[] = [];
    for (let i = 0; i < TASKS; i++) ids.push(await submit(w, "nas", `echo line-one-${i}; sleep 0.1; echo line-two-${i}`));
    // Every task is in the companion's durable queue before the first cut.
    await waitFor("every task to be sent", async () => (await Promise.all(ids.map((id) => get(w!, id)))).every((t) => t.status !== "queued"), 30_000, 100);
    // Each cut falls while results flow: a few more tasks have ended since the last one (or all have).
    const ended = async () => (await Promise.all(ids.map((id) => get(w!, id)))).filter((t) => ENDED.includes(t.status)).length;
    let before = 0;
    for (let cut = 0; cut < 3; cut++) {
      const at = Math.min(TASKS, before + 5);
      await waitFor(`${at} tasks ended before cut ${cut + 1}`, async () => (await ended()) >= at, 60_000, 50);
      await w.stopNats();
      // The outage itself: long enough for reports to pile up in the spool.
      await Bun.sleep(700);
      await w.startNats();
      before = await ended();
    }
    await waitFor("every task to end", async () => (await Promise.all(ids.map((id) => get(w!, id)))).every((t) => ENDED.includes(t.status)), 120_000, 250);
    for (const [i, id] of ids.entries()) {
      const t = await get(w, id);
      expect(t.status, `${id}: ${JSON.stringify(t.error)}`).toBe("succeeded");
      const evs = await events(w, id);
      expect(evs.filter((e) => e.event === "result")).toHaveLength(1);
      const seqs = evs.filter((e) => e.event === "progress").map((e) => e.data.seq as number);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      expect(t.output).toBe(`line-one-${i}\nline-two-${i}\n`);
    }
  }, 300_000);

  test("a companion killed mid-task: when it starts again the task is failed with the reason, not left hanging", async () => {
    w = await companionWorld();
    const { bundle } = await w.pair("vm");
    const first = w.start(bundle);
    await waitFor("the companion to come online", async () => (await w!.status("vm")).status === "online", 20_000);
    const id = await submit(w, "vm", "echo started; sleep 30");
    await waitFor("the task to run", async () => (await get(w!, id)).output?.includes("started"), 20_000);
    await first.kill("SIGKILL");
    w.start(bundle);
    const t = await waitFor("the task to end", async () => ((t) => (ENDED.includes(t.status) ? t : undefined))(await get(w!, id)), 30_000, 100);
    expect(t.status).toBe("failed");
    expect(t.error?.message).toContain("companion stopped while the task ran");
  }, 120_000);

  test("a companion that stops beating is offline after COMPANION_OFFLINE_MS, and online again with its next heartbeat", async () => {
    w = await companionWorld({ COMPANION_OFFLINE_MS: "1000" });
    const { bundle } = await w.pair("pi");
    const first = w.start(bundle);
    await waitFor("the companion to come online", async () => (await w!.status("pi")).status === "online", 20_000);
    await first.kill("SIGKILL");
    const offline = await waitFor("the companion to be offline", async () => ((c) => (c.status === "offline" ? c : undefined))(await w!.status("pi")), 10_000, 50);
    expect(offline.lastSeenAt).toBeGreaterThan(0);
    w.start(bundle);
    await waitFor("the companion to be online again", async () => (await w!.status("pi")).status === "online", 20_000);
  }, 120_000);

  test("a task sent while the companion is away waits in its queue and runs when it comes back", async () => {
    w = await companionWorld();
    const { bundle } = await w.pair("late");
    const id = await submit(w, "late", "echo waited");
    // Handed to its durable queue, not failed for want of a consumer.
    expect((await get(w, id)).status).toBe("starting");
    w.start(bundle);
    const t = await waitFor("the task to end", async () => ((t) => (ENDED.includes(t.status) ? t : undefined))(await get(w!, id)), 30_000, 100);
    expect(t.status).toBe("succeeded");
    expect(t.output).toBe("waited\n");
  }, 120_000);
});

describe("Companions: revoking", () => {
  test("a revoked companion is cut off: NATS turns it away, its signed messages are refused and counted, and new tasks naming it are refused", async () => {
    w = await companionWorld();
    const { bundle } = await w.pair("old");
    const c = w.start(bundle);
    await waitFor("the companion to come online", async () => (await w!.status("old")).status === "online", 20_000);
    const res = await w.app.request("/api/companions/old", { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe("revoked");
    // The server reloaded its config without the identity: the companion lost its connection, and its key no longer gets in.
    await waitFor("the companion to lose its connection", () => c.output().includes("NATS connection lost"), 15_000);
    const seedBytes = new TextEncoder().encode(bundle.seed);
    const refused = await connect({
      servers: w.url,
      authenticator: natsAuthenticator(seedBytes, "seed"),
      inboxPrefix: inboxPrefix({ role: "companion", id: "old" }),
      reconnect: false,
    }).then(
      async (nc) => (await nc.close(), "connected"),
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/authorization/i);
    // Another companion holding the old key may announce, but what it signs with that key is refused as revoked.
    const signer = new Signer(bundle.seed);
    const other = (await w.pair("other")).bundle;
    // The server reloads its config on the pairing's SIGHUP; until then the new identity is not known.
    const nc = await waitFor("the new identity to be let in", () =>
      connect({
        servers: w!.url,
        authenticator: natsAuthenticator(new TextEncoder().encode(other.seed), "seed"),
        inboxPrefix: inboxPrefix({ role: "companion", id: "other" }),
        reconnect: false,
      }).catch(() => undefined),
    );
    const subject = subjects.companionAnnounce();
    nc.publish(subject, signer.sealBytes(subject, { v: 1, id: "old" }));
    await nc.flush();
    await waitFor("the core to count the revoked key", async () => {
      const h = (await (await w!.app.request("/api/system/health")).json()) as { components: { companions: { refused: Record<string, number> } } };
      return (h.components.companions.refused.revoked ?? 0) >= 1;
    });
    await nc.close();
    expect((await w.status("old")).status).toBe("revoked");
    const task = await w.app.request("/api/tasks", { method: "POST", json: { mode: "script", script: "true", target: "old" } });
    expect(task.status).toBe(400);
    w.app.s.audit.flush();
    const audit = w.app.s.store.sqlite.query("SELECT action, outcome FROM audit_log WHERE action LIKE 'companion.%' ORDER BY id").all() as { action: string; outcome: string }[];
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(["companion.paired", "companion.revoked", "companion.refused"]));
  }, 120_000);
});
