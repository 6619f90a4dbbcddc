import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeApp } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import { createTask, endedTask, runnerBinary } from "../helpers/tasks.ts";

/**
 * A task with a host allowlist, in the real sandbox: it keeps its own network
 * namespace, and the only way out is the egress proxy through the socket
 * bound in. curl stands in for any program that honours HTTP(S)_PROXY, and
 * bash's /dev/tcp for one that does not.
 */
let allowed: ReturnType<typeof Bun.serve>;
let other: ReturnType<typeof Bun.serve>;
const hits = { allowed: 0, other: 0 };
let h: Awaited<ReturnType<typeof makeApp>>;

beforeAll(async () => {
  allowed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => (hits.allowed++, new Response(`reached ${new URL(req.url).pathname}\n`)) });
  other = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (hits.other++, new Response("other\n")) });
  h = await makeApp({ TASK_RUNNER: await runnerBinary() });
});
afterAll(async () => {
  await h.close();
  allowed.stop(true);
  other.stop(true);
});

const curl = (url: string, flags = "") => `curl -sS -m 5 ${flags} ${url} 2>&1; echo " [${url}]"`;

describe("Tasks with a network allowlist", () => {
  test("wait for the owner's approval, then reach the listed host (plain and through CONNECT) and nothing else, and the listeners stay silent", async () => {
    const script = [
      curl(`http://localhost:${allowed.port}/plain`),
      curl(`http://localhost:${allowed.port}/tunnel`, "-p"),
      curl(`http://localhost:${other.port}/`),
      curl(`http://127.0.0.1:${allowed.port}/`),
      curl("http://169.254.169.254/latest/meta-data/"),
      curl("http://0xa9fea9fe/"),
      curl("http://[::ffff:169.254.169.254]/"),
      curl(`http://localhost:${allowed.port}/direct`, "--noproxy '*'"),
      `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${other.port}' 2>&1 && echo TCP-OPEN`,
      "echo END",
    ].join("; ");
    const task = await createTask(h.request, { mode: "script", script, network: [`localhost:${allowed.port}`] });
    expect(task.status).toBe("queued");
    expect(task.approval).toEqual({ scopes: [`net:localhost:${allowed.port}`], state: "pending" });
    expect(task.network).toEqual([`localhost:${allowed.port}`]);
    await h.request(`/api/tasks/${task.id}/approve`, { method: "POST" });
    const done = await endedTask(h.request, task.id);
    const out: string = done.output;
    expect(out).toContain("END");
    expect(out).toContain("reached /plain");
    expect(out).toContain("reached /tunnel");
    expect(out).not.toContain("reached /direct");
    expect(out).not.toContain("TCP-OPEN");
    expect(out).not.toContain("other");
    expect(out.match(/bakerst egress:/g)?.length).toBeGreaterThanOrEqual(5);
    expect(hits).toEqual({ allowed: 2, other: 0 });
    // Each refusal is in the audit log, with the host it tried.
    await waitFor("the audit rows", () => {
      h.s.audit.flush();
      return h.s.store.sqlite.query("SELECT count(*) AS n FROM audit_log WHERE action = 'task.egress_refused' AND target = ?").get(task.id) as { n: number } | null;
    });
    const rows = h.s.store.sqlite.query("SELECT detail FROM audit_log WHERE action = 'task.egress_refused' AND target = ?").all(task.id) as { detail: string }[];
    expect(rows.map((r) => JSON.parse(r.detail).host)).toEqual(expect.arrayContaining(["localhost", "127.0.0.1", "169.254.169.254"]));
  }, 60_000);

  test("an allowlist naming metadata, or something that is not a host, is refused at the door", async () => {
    for (const network of [["169.254.169.254"], ["metadata.google.internal"], ["http://example.com/"], ["a b"]]) {
      const res = await h.request("/api/tasks", { method: "POST", json: { mode: "script", script: "true", network } });
      expect(res.status, String(network)).toBe(400);
      expect((await res.json()).error.code).toBe("invalid_task");
    }
  });
});
