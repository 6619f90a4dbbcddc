/**
 * The control socket and the rules around a second core on one data dir:
 * who may start, what `POST /upgrade` accepts, and what a forged transfer
 * step gets. In-process servers on loopback.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, lstatSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loginLinkCommand } from "../../core/cli/login-link.ts";
import { readyCommand } from "../../core/cli/ready.ts";
import { controlFetch, runningServers } from "../../core/upgrade/control.ts";
import { Leases } from "../../core/upgrade/lease.ts";
import { StartRefusedError } from "../../core/upgrade/lifecycle.ts";
import { serveApp, tempDir } from "../helpers/app.ts";

const servers: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function serve(env: Record<string, string> = {}, dataDir = tempDir()) {
  const s = await serveApp(env, { dataDir });
  servers.push(s);
  const [status] = await runningServers(dataDir);
  return { ...s, socket: status!.socket, status: status! };
}

const transfer = (step: string, body: Record<string, unknown>) => ({ method: "POST", body: { v: 1, step, at: Date.now(), version: "9.9.9", ...body } });

describe("A second bakerst on one data dir", () => {
  test("refuses to start beside the running one, naming it, and leaves it serving", async () => {
    const first = await serve();
    const before = Bun.file(join(first.dataDir, "bakerst.db")).size;
    const second = serveApp({}, { dataDir: first.dataDir });
    expect(second).rejects.toBeInstanceOf(StartRefusedError);
    await expect(second).rejects.toThrow(`is already running on ${first.dataDir} (pid ${process.pid}, port ${first.port})`);
    expect(await runningServers(first.dataDir)).toHaveLength(1);
    expect((await fetch(`${first.url}/ping`)).status).toBe(200);
    expect(Bun.file(join(first.dataDir, "bakerst.db")).size).toBe(before);
  });

  test("refuses a port another program holds, which sharing it (SO_REUSEPORT) would hide", async () => {
    const other = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("someone else") });
    try {
      const dataDir = tempDir();
      await expect(serveApp({ PORT: String(other.port) }, { dataDir })).rejects.toThrow(/in use|EADDRINUSE/i);
      expect(await runningServers(dataDir)).toEqual([]);
      expect(await (await fetch(`http://127.0.0.1:${other.port}/`)).text()).toBe("someone else");
    } finally {
      other.stop(true);
    }
  });
});

describe("The control socket", () => {
  test("is a socket only the owner reaches, in the data dir, and says what the server is", async () => {
    const s = await serve();
    expect(s.socket.startsWith(join(s.dataDir, "run"))).toBe(true);
    expect(lstatSync(s.socket).isSocket()).toBe(true);
    expect(lstatSync(join(s.dataDir, "run")).mode & 0o077).toBe(0);
    expect(s.status).toMatchObject({ pid: process.pid, state: "active", port: s.port, mode: "edge" });
    const ready = await controlFetch(s.socket, "/readyz");
    expect(ready.status).toBe(200);
  });

  test("bakerst ready (the readiness probe) says ready for the server on this host and data dir, and not for a data dir nobody serves", async () => {
    const s = await serve();
    const said: string[] = [];
    expect(await readyCommand(s.services.config, (t) => void said.push(t))).toBe(0);
    expect(await readyCommand({ ...s.services.config, dataDir: tempDir() }, (t) => void said.push(t))).toBe(1);
    expect(said[0]).toBe("ready\n");
    expect(said[1]).toMatch(/^no bakerst is running on /);
  });

  test("bakerst login-link: a one-time link from the running server, which logs in once and is audited", async () => {
    const s = await serve();
    const said: string[] = [];
    expect(
      await loginLinkCommand(
        s.services.config,
        (t) => void said.push(t),
        (t) => void said.push(t),
      ),
    ).toBe(0);
    const code = /#code=([\w-]+)\n$/.exec(said[0]!)?.[1];
    expect(code).toBeDefined();
    const login = () =>
      fetch(`${s.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json", "sec-fetch-site": "same-origin" }, body: JSON.stringify({ code }) });
    expect((await login()).status).toBe(200);
    expect((await login()).status).toBe(401);
    s.services.audit.close();
    const rows = s.services.store.sqlite.query("SELECT action, outcome, actor, detail FROM audit_log WHERE action = 'auth.login_link'").all();
    expect(rows).toEqual([{ action: "auth.login_link", outcome: "ok", actor: "cli", detail: null }]);
    expect(JSON.stringify(s.services.store.sqlite.query("SELECT * FROM audit_log").all())).not.toContain(code!);
  });

  test("a socket left by a process that died is removed, and counts as nobody running", async () => {
    const dataDir = tempDir();
    mkdirSync(join(dataDir, "run"), { recursive: true });
    const dead = Bun.spawn(
      [process.execPath, "-e", `Bun.serve({ unix: ${JSON.stringify(join(dataDir, "run", "dead.sock"))}, fetch: () => new Response("x") }); console.log("up")`],
      { stdout: "pipe" },
    );
    for await (const _ of dead.stdout) break;
    dead.kill("SIGKILL");
    await dead.exited;
    expect(lstatSync(join(dataDir, "run", "dead.sock")).isSocket()).toBe(true);
    expect(await runningServers(dataDir)).toEqual([]);
    expect(() => lstatSync(join(dataDir, "run", "dead.sock"))).toThrow();
  });
});

describe("POST /upgrade refuses a file it must not run", () => {
  const cases: [string, (dir: string) => string, RegExp][] = [
    ["a relative path", () => "bakerst", /not an absolute path/],
    ["a file that does not exist", (dir) => join(dir, "missing"), /does not exist/],
    ["a directory", (dir) => dir, /not a file/],
    ["a file that is not executable", (dir) => write(dir, "plain", "#!/bin/sh\necho bakerst 1.0.0\n", 0o644), /not executable/],
    ["a file others may change", (dir) => write(dir, "shared", "#!/bin/sh\necho bakerst 1.0.0\n", 0o777), /writable by group or others/],
    ["a program that is not bakerst", () => "/bin/true", /did not answer like bakerst/],
  ];
  for (const [name, path, why] of cases) {
    test(name, async () => {
      const s = await serve();
      const res = await controlFetch(s.socket, "/upgrade", { method: "POST", body: { binary: path(tempDir("bakerst-bin-")) } });
      expect(res.status).toBe(409);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(why);
      expect((await runningServers(s.dataDir)).map((x) => x.state)).toEqual(["active"]);
      expect((await fetch(`${s.url}/ping`)).status).toBe(200);
    });
  }

  test("a body that is not the expected shape", async () => {
    const s = await serve();
    for (const body of [{}, { binary: 42 }, { binary: "/bin/true", windowMs: 5 }, { binary: "/bin/true", windowMs: "20000" }]) {
      expect((await controlFetch(s.socket, "/upgrade", { method: "POST", body })).status).toBe(400);
    }
  });
});

function write(dir: string, name: string, text: string, mode: number): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

describe("A forged transfer step", () => {
  test("ready from a core that does not hold the handoff lease is refused, and the server keeps serving", async () => {
    const s = await serve();
    const res = await controlFetch(s.socket, "/transfer/ready", transfer("ready", { handoff: "intruder", from: "intruder", host: "elsewhere", port: s.port }));
    expect(await res.json()).toEqual({ v: 1, ok: false, reason: "the sender does not hold the handoff lease" });
    expect((await runningServers(s.dataDir))[0]!.state).toBe("active");
    expect((await fetch(`${s.url}/readyz`, { headers: s.auth })).status).toBe(200);
  });

  test("ready naming a control socket outside the data dir is refused, even with the lease", async () => {
    const s = await serve();
    await (await Leases.open(s.services.bus)).beginHandoff({ handoff: "newcore", version: "9.9.9", since: Date.now(), until: Date.now() + 60_000 });
    const res = await controlFetch(s.socket, "/transfer/ready", transfer("ready", { handoff: "newcore", from: "newcore", socket: "/var/run/docker.sock", port: s.port }));
    expect(await res.json()).toEqual({ v: 1, ok: false, reason: "its control socket is not in this data dir" });
    expect((await runningServers(s.dataDir))[0]!.state).toBe("active");
  });

  test("clear or ack nobody expects is refused; a message that fails its schema is a 400; a large one a 413", async () => {
    const s = await serve();
    const clear = await controlFetch(s.socket, "/transfer/clear", transfer("clear", { handoff: "x", from: "x" }));
    expect(((await clear.json()) as { ok: boolean }).ok).toBe(false);
    const ack = await controlFetch(s.socket, "/transfer/ack", transfer("ack", { handoff: "x", from: "x" }));
    expect(await ack.json()).toEqual({ v: 1, ok: false, reason: "not expecting ack from x" });
    expect((await controlFetch(s.socket, "/transfer/ready", transfer("ready", { handoff: "x y", from: "x" }))).status).toBe(400);
    expect((await controlFetch(s.socket, "/transfer/ack", transfer("ready", { handoff: "x", from: "x" }))).status).toBe(400);
    expect((await controlFetch(s.socket, "/transfer/ready", transfer("ready", { handoff: "x", from: "x", reason: "r".repeat(20_000) }))).status).toBe(413);
    expect((await runningServers(s.dataDir))[0]!.state).toBe("active");
  });
});
