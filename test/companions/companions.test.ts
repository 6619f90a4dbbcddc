import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { createUser } from "@nats-io/nkeys";
import { connect } from "@nats-io/transport-node";
import { natsAuthenticator } from "../../core/bus/nats-connect.ts";
import { inboxPrefix, Signer, subjects } from "../../core/protocol/index.ts";
import { waitFor } from "../helpers/nats.ts";
import { type CompanionProcess, type CompanionWorld, companionWorld } from "./harness.ts";

let w: CompanionWorld;
let nas: CompanionProcess;
let bundle: Awaited<ReturnType<CompanionWorld["pair"]>>["bundle"];

beforeAll(async () => {
  w = await companionWorld();
  ({ bundle } = await w.pair("nas"));
  nas = w.start(bundle);
  await waitFor("the companion to come online", async () => (await w.status("nas")).status === "online", 20_000);
}, 120_000);

afterAll(async () => {
  await w?.close();
});

interface TaskView {
  id: string;
  status: string;
  output?: string;
  error?: { code: string; message: string };
  exitCode?: number | null;
}

async function runOn(name: string, body: Record<string, unknown>): Promise<TaskView> {
  const res = await w.app.request(`/api/companions/${name}/tasks`, { method: "POST", json: body });
  expect(res.status).toBe(202);
  return (await res.json()) as TaskView;
}

async function task(id: string): Promise<TaskView> {
  return (await (await w.app.request(`/api/tasks/${id}`)).json()) as TaskView;
}

const ENDED = ["succeeded", "failed", "cancelled", "timed_out"];
const ended = async (id: string, timeoutMs = 30_000) =>
  waitFor(`task ${id} to end`, async () => ((t) => (ENDED.includes(t.status) ? t : undefined))(await task(id)), timeoutMs, 50);

async function resultEvents(id: string): Promise<number> {
  const res = await w.app.request(`/api/tasks/${id}/events`);
  const text = await res.text();
  return text.split("\n").filter((l) => l === "event: result").length;
}

describe("Companions: pairing and the daemon", () => {
  test("a paired companion announces itself: host, platform, sandbox, allowed paths; the list and the tool show it online", async () => {
    const c = await w.status("nas");
    expect(c).toMatchObject({ id: "nas", status: "online", platform: "linux", maxConcurrency: 4 });
    expect(typeof c.hostname).toBe("string");
    expect(c.lastSeenAt).toBeGreaterThan(0);
    const list = (await (await w.app.request("/api/companions")).json()) as { companions: { id: string; status: string }[] };
    expect(list.companions.map((x) => [x.id, x.status])).toEqual([["nas", "online"]]);
  });

  test("a script task with target set to the companion runs there and its output and exit code come back", async () => {
    const res = await w.app.request("/api/tasks", { method: "POST", json: { mode: "script", script: "uname -s; echo done-on-companion", target: "nas" } });
    expect(res.status).toBe(202);
    const t = await ended(((await res.json()) as TaskView).id);
    expect(t.status).toBe("succeeded");
    expect(t.exitCode).toBe(0);
    expect(t.output).toContain("Linux");
    expect(t.output).toContain("done-on-companion");
    expect(await resultEvents(t.id)).toBe(1);
  });

  test("a mount outside the companion's allowed paths is refused there with the reason, and nothing ran", async () => {
    const t = await ended((await runOn("nas", { mode: "script", script: "cat /etc/hostname; echo ran", mounts: [w.dir] })).id);
    expect(t.status).toBe("failed");
    expect(t.error?.code).toBe("refused");
    expect(t.error?.message).toContain("allowed paths");
    expect(t.output ?? "").not.toContain("ran");
  });

  test("list_companions tells the agent which companions there are, whether they are online and what they allow", async () => {
    const out = await w.app.s.tools.execute(
      "list_companions",
      {},
      { conversationId: "c", turnId: "t", origin: "web" as const, signal: new AbortController().signal, emit: () => {} },
    );
    expect(out.ok).toBe(true);
    const body = JSON.parse(out.content) as { companions: { id: string; status: string; platform: string; sandbox: boolean; modes: string[] }[] };
    expect(body.companions).toEqual([expect.objectContaining({ id: "nas", status: "online", platform: `linux/${process.arch}`, sandbox: true, modes: ["script"] })]);
    expect(out.content).not.toContain(bundle.seed);
  });

  test("an unknown target is refused at the door naming the field", async () => {
    const res = await w.app.request("/api/tasks", { method: "POST", json: { mode: "script", script: "true", target: "nowhere" } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("target");
  });
});

describe("Companions: what is refused", () => {
  test("a task signed by a key that is not the core's is refused by the companion, counted, and never runs", async () => {
    const marker = join(w.dir, "forged-ran");
    const forger = new Signer(new TextDecoder().decode(createUser().getSeed()));
    const coreCreds = join(w.natsDir, "creds", "core.nk");
    // The forger even holds a NATS identity allowed to publish tasks: the signature is what stops it.
    const nc = await connect({ servers: w.url, authenticator: natsAuthenticator(await Bun.file(coreCreds).bytes(), coreCreds), inboxPrefix: inboxPrefix({ role: "core" }) });
    const subject = subjects.companionTask("nas");
    const spec = { v: 1, id: "forged-task-1", mode: "script", script: `touch ${marker}`, mounts: [], network: "none", timeoutMs: 10_000, reportToken: "forgedforgedforged" };
    await jetstream(nc).publish(subject, forger.sealBytes(subject, { v: 1, kind: "run", spec }));
    await waitFor("the companion to count the refusal", async () => ((await w.status("nas")).refusedByCompanion as number) >= 1, 10_000);
    expect(nas.output()).toContain("refused a task message not signed by the core");
    expect(existsSync(marker)).toBe(false);
    await nc.close();
  });

  test("a report for a task signed by another key is refused by the core and counted; the task is not ended by it", async () => {
    const forger = new Signer(new TextDecoder().decode(createUser().getSeed()));
    const t = await runOn("nas", { mode: "script", script: "sleep 1; echo real" });
    const subject = subjects.taskResult(t.id);
    // The task runners' identity may publish any task's result: the companion's signature is what the core checks.
    const taskCreds = join(w.natsDir, "creds", "task.nk");
    const nc = await connect({ servers: w.url, authenticator: natsAuthenticator(await Bun.file(taskCreds).bytes(), taskCreds), inboxPrefix: inboxPrefix({ role: "task" }) });
    const before = (await w.status("nas")).refused as number;
    nc.publish(subject, forger.sealBytes(subject, { v: 1, type: "result", taskId: t.id, token: "x".repeat(20), seq: 99, at: Date.now(), status: "failed", exitCode: 1 }));
    await nc.flush();
    const done = await ended(t.id);
    expect(done.status).toBe("succeeded");
    expect(done.output).toContain("real");
    const health = (await (await w.app.request("/api/system/health")).json()) as { components: { companions: { refused: Record<string, number> } } };
    expect(health.components.companions.refused.unknown_signer).toBeGreaterThanOrEqual(1);
    expect((await w.status("nas")).refused).toBe(before + 1);
    await nc.close();
  });
});
