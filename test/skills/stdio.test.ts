import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { makeApp, tempDir } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import { ROOT, stdioSkill } from "../helpers/skills.ts";

let h: Awaited<ReturnType<typeof makeApp>>;
const outside = tempDir("bakerst-skill-outside-");
writeFileSync(join(outside, "secret.txt"), "not for skills");

beforeAll(async () => {
  h = await makeApp({ SKILL_ALLOWED_PATHS: ROOT, SKILL_IDLE_MS: "1500" });
});
afterAll(() => h.close());

const ctx = () => ({ signal: new AbortController().signal, conversationId: "c", turnId: "t", origin: "web" as const, emit: () => {} });
const call = (name: string, input: unknown) => h.s.tools.execute(name, input, ctx());
const post = (path: string, json?: unknown) => h.request(path, { method: "POST", ...(json !== undefined ? { json } : {}) });

/** Processes whose command line holds `marker`: what a skill started, if anything. */
function processesWith(marker: string): number[] {
  return readdirSync("/proc").flatMap((p) => {
    if (!/^\d+$/.test(p)) return [];
    try {
      return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(marker) ? [Number(p)] : [];
    } catch {
      return [];
    }
  });
}

const auditRows = (action: string) => {
  h.s.audit.flush();
  return h.s.store.sqlite.query("SELECT action, outcome, actor, target, detail FROM audit_log WHERE action = ? ORDER BY id").all(action) as {
    outcome: string;
    actor: string;
    target: string;
    detail: string;
  }[];
};

async function addApproved(spec: Record<string, unknown>) {
  const res = await post("/api/skills", spec);
  expect(res.status).toBe(201);
  const skill = await res.json();
  const listed = await post(`/api/skills/${skill.id}/test`);
  if (listed.status !== 200) throw new Error(`test of ${spec.name}: ${listed.status} ${await listed.text()}`);
  return { ...skill, listed: await listed.json() };
}

describe("Skills: what the agent proposes waits for the owner", () => {
  test("an unapproved proposal never starts a process, and its tools do not exist until the owner approves exactly what it runs", async () => {
    const marker = `--marker-${crypto.randomUUID()}`;
    const proposed = await call("propose_skill", stdioSkill("proposed", {}, [marker]));
    expect(proposed.ok).toBe(true);
    const view = JSON.parse(proposed.content);
    expect(view.status).toBe("pending");
    expect(view.wouldRun.command).toContain(marker);
    // Everything that could start it is refused.
    expect((await post(`/api/skills/${view.id}/test`)).status).toBe(409);
    expect((await call("proposed__echo", { text: "x" })).content).toContain("unknown tool");
    expect(processesWith(marker)).toEqual([]);
    expect(auditRows("skill.proposed").at(-1)).toMatchObject({ target: "proposed", actor: "agent:web" });

    // The owner approves the hash it was shown; a stale hash is refused.
    expect((await post(`/api/skills/${view.id}/approve`, { hash: "0".repeat(64) })).status).toBe(409);
    expect(processesWith(marker)).toEqual([]);
    const approved = await post(`/api/skills/${view.id}/approve`, { hash: view.wouldRun.hash });
    expect(approved.status).toBe(200);
    await waitFor("its tools", () => h.s.tools.has("proposed__echo"), 20_000);
    const out = await call("proposed__echo", { text: "hi" });
    expect(out).toMatchObject({ ok: true, content: "echo: hi" });
    expect(processesWith(marker).length).toBeGreaterThan(0);
    expect(auditRows("skill.approved").at(-1)?.detail).toContain(view.wouldRun.hash);

    // A change to what runs withdraws it until approved again.
    const changed = await h.request(`/api/skills/${view.id}`, {
      method: "PUT",
      json: { spec: stdioSkill("proposed", { env: { BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0", EXTRA: "1" } }, [marker]) },
    });
    expect((await changed.json()).status).toBe("changed");
    expect(h.s.tools.has("proposed__echo")).toBe(false);
    await waitFor("the old server gone", () => processesWith(marker).length === 0);
    expect((await post(`/api/skills/${view.id}/test`)).status).toBe(409);
  }, 60_000);
});

describe("Skills tier 1: a stdio MCP server in the sandbox", () => {
  let listener: Server;
  let reached = 0;
  beforeAll(async () => {
    listener = createServer((s) => {
      reached++;
      s.destroy();
    });
    await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
  });
  afterAll(() => listener.close());

  test("its tools are namespaced, schemas passed through, results and error results mapped", async () => {
    const skill = await addApproved(stdioSkill("calc"));
    expect(skill.listed.tools.map((t: { name: string }) => t.name)).toContain("calc__add");
    const spec = h.s.tools.specs().find((s) => s.name === "calc__add")!;
    expect(spec.inputSchema).toMatchObject({ type: "object", properties: { a: { type: "number" }, b: { type: "number" } } });
    expect(await call("calc__add", { a: 2, b: 40 })).toMatchObject({ ok: true, content: "42" });
    const failed = await call("calc__fail", {});
    expect(failed.ok).toBe(false);
    expect(failed.content).toContain("it went wrong on purpose");
  }, 60_000);

  test("a call past the skill's time is cut off; lines that are not JSON-RPC are skipped, the server keeps answering", async () => {
    await addApproved(stdioSkill("slow", { timeoutMs: 500 }));
    const slow = await call("slow__sleep", { ms: 10_000 });
    expect(slow.ok).toBe(false);
    expect(slow.content).toMatch(/timed out|timeout/i);
    expect(await call("slow__sleep", { ms: 1 })).toMatchObject({ ok: true, content: "slept" });
    const garbage = await call("calc__garbage", {});
    expect(garbage).toMatchObject({ ok: true, content: "still here" });
    expect(await call("calc__add", { a: 1, b: 1 })).toMatchObject({ ok: true, content: "2" });
  }, 60_000);

  test("a skill that declares no network cannot reach a loopback listener", async () => {
    const port = (listener.address() as { port: number }).port;
    const out = await call("calc__connect", { host: "127.0.0.1", port });
    expect(out.ok).toBe(true);
    expect(out.content).toMatch(/^error: /);
    expect(reached).toBe(0);
  }, 30_000);

  test("with hosts, the server reaches exactly those through the egress proxy; another host, and any direct connection, are refused", async () => {
    let otherHits = 0;
    const listed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("hello from the listed host") });
    const other = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (otherHits++, new Response("should not be reached")) });
    try {
      await addApproved(stdioSkill("netted", { network: [`127.0.0.1:${listed.port}`] }));
      expect(await call("netted__fetch", { url: `http://127.0.0.1:${listed.port}/` })).toMatchObject({ ok: true, content: "200 hello from the listed host" });
      const refused = await call("netted__fetch", { url: `http://127.0.0.1:${other.port}/` });
      expect(refused.content).not.toContain("should not be reached");
      const direct = await call("netted__connect", { host: "127.0.0.1", port: other.port! });
      expect(direct.content).toMatch(/^error: /);
      expect(otherHits).toBe(0);
      expect(auditRows("skill.egress_refused").some((r) => r.target === "netted")).toBe(true);
    } finally {
      listed.stop(true);
      other.stop(true);
    }
  }, 60_000);

  test("a path it was not given cannot be read, nor bakerst's data dir", async () => {
    for (const path of [join(outside, "secret.txt"), join(ROOT, "package.json"), join(h.dataDir, "bakerst.db")]) {
      const out = await call("calc__read", { path });
      expect(out.ok, path).toBe(false);
      expect(out.content).toContain("ENOENT");
    }
  }, 30_000);

  test("its environment holds only what it declared: none of bakerst's variables", async () => {
    expect((await call("calc__env", { name: "AUTH_TOKEN" })).content).toBe("(unset)");
    expect((await call("calc__env", { name: "BAKERST_DATA_DIR" })).content).toBe("(unset)");
  }, 30_000);

  test("a path outside SKILL_ALLOWED_PATHS is refused when the skill is added", async () => {
    const res = await post("/api/skills", stdioSkill("outside", { paths: [{ path: outside }] }));
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toContain("not under SKILL_ALLOWED_PATHS");
    const traversal = await post("/api/skills", stdioSkill("dots", { paths: [{ path: `${ROOT}/../../etc` }] }));
    expect(traversal.status).toBe(400);
    const metadata = await post("/api/skills", stdioSkill("meta", { network: ["169.254.169.254"] }));
    expect(metadata.status).toBe(400);
    expect((await metadata.json()).error.message).toContain("metadata");
  });

  test("a server that answers more than its cap is stopped and the call fails, the rest of bakerst untouched", async () => {
    await addApproved(stdioSkill("flood", { outputMaxBytes: 64 * 1024 }));
    const out = await call("flood__huge", { bytes: 1_000_000 });
    expect(out.ok).toBe(false);
    expect(auditRows("skill.refused").some((r) => r.target === "flood")).toBe(true);
    expect(h.need("skills").connection("flood")?.state).toBe("backoff");
  }, 60_000);

  test("a server's hostile tool list is contained: bad names, duplicates and schemas are left out", async () => {
    const skill = await addApproved(stdioSkill("hostile", {}, ["--hostile"]));
    expect(skill.listed.tools.map((t: { name: string }) => t.name).sort()).toEqual(["hostile__echo", "hostile__find_tools"]);
    expect(skill.listed.dropped.length).toBe(6);
    expect(h.s.tools.has("find_tools")).toBe(false);
    expect(await call("hostile__echo", { text: "still works" })).toMatchObject({ ok: true, content: "echo: still works" });
  }, 60_000);

  test("a crashed server is started again after its backoff; tools/list_changed adds tools", async () => {
    await addApproved(stdioSkill("phoenix"));
    const first = (await call("phoenix__pid", {})).content;
    expect((await call("phoenix__crash", {})).ok).toBe(false);
    const conn = h.need("skills").connection("phoenix")!;
    await waitFor("the crash noticed", () => conn.state === "backoff");
    const refused = await call("phoenix__pid", {});
    expect(refused.content).toContain("started again in");
    await waitFor("the backoff over", () => Date.now() >= conn.retryAt, 5_000);
    const second = await call("phoenix__pid", {});
    expect(second).toMatchObject({ ok: true });
    expect(second.content).not.toBe(first);
    await call("phoenix__grow", {});
    await waitFor("the new tool", () => h.s.tools.has("phoenix__extra"));
    expect(await call("phoenix__extra", {})).toMatchObject({ ok: true, content: "extra!" });
  }, 60_000);

  test("an idle server is stopped and started again on its next call", async () => {
    const marker = `--idle-${crypto.randomUUID()}`;
    await addApproved(stdioSkill("sleepy", {}, [marker]));
    expect((await call("sleepy__echo", { text: "a" })).ok).toBe(true);
    expect(processesWith(marker).length).toBeGreaterThan(0);
    await waitFor("stopped when idle", () => h.need("skills").connection("sleepy")?.state === "stopped" && processesWith(marker).length === 0, 10_000);
    expect(await call("sleepy__echo", { text: "b" })).toMatchObject({ ok: true, content: "echo: b" });
  }, 60_000);

  test("secrets by name reach only the skill that names them, and never come back out", async () => {
    const value = `sk-${crypto.randomUUID()}`;
    expect((await h.request("/api/secrets/FIXTURE_TOKEN", { method: "PUT", json: { value } })).status).toBe(200);
    await addApproved(stdioSkill("keyed", { secrets: ["FIXTURE_TOKEN"] }));
    const out = await call("keyed__env", { name: "FIXTURE_TOKEN" });
    expect(out.ok).toBe(true);
    expect(out.content).not.toContain(value);
    expect(out.content).not.toBe("(unset)");
    expect((await call("calc__env", { name: "FIXTURE_TOKEN" })).content).toBe("(unset)");
    const list = await (await h.request("/api/skills")).text();
    expect(list).not.toContain(value);
  }, 60_000);
});
