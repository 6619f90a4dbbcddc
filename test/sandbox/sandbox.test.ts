import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { setUpSandbox, SYSTEM_PATH, type Sandbox, type SandboxProfile } from "../../satellite/sandbox/index.ts";
import { waitFor } from "../helpers/nats.ts";

/**
 * The real bubblewrap on this machine: what a sandboxed program can see,
 * reach and use. Bash stands in for a program that tries everything
 * (/dev/tcp for the network; dash has none).
 */
const hidden = mkdtempSync("/var/tmp/bakerst-sandbox-hidden-");
const SECRET = "sandbox-secret-6f1e2d3c4b5a69788796a5b4c3d2e1f0";
const secretFile = join(hidden, "token");
const hostTmpFile = `/tmp/bakerst-sandbox-host-${process.pid}`;
const root = process.getuid?.() === 0;
let sandbox: Sandbox;
let listener: ReturnType<typeof Bun.serve>;
let hits = 0;

beforeAll(() => {
  writeFileSync(secretFile, SECRET, { mode: 0o600 });
  writeFileSync(hostTmpFile, "host tmp");
  const setup = setUpSandbox({ mode: "required", hide: [hidden] });
  if (!setup.sandbox) throw new Error(`the sandbox does not work on this machine: ${setup.status.detail}`);
  sandbox = setup.sandbox;
  listener = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (hits++, new Response("reached")) });
});
afterAll(() => {
  listener.stop(true);
  rmSync(hidden, { recursive: true, force: true });
  rmSync(hostTmpFile, { force: true });
});

const ENV = { PATH: SYSTEM_PATH, LANG: "C.UTF-8", HOME: "/nonexistent" };

/** Runs a bash script in the sandbox without blocking, so the listener in this process can answer. */
async function run(script: string, profile: SandboxProfile = {}, env: Record<string, string> = ENV) {
  const inv = sandbox.wrap(["/usr/bin/bash", "-c", script], profile, env);
  const child = spawn(inv.file, inv.args, { env, stdio: ["ignore", "pipe", "pipe", ...inv.fds], timeout: 20_000 });
  for (const fd of inv.fds) closeSync(fd);
  let out = "";
  let err = "";
  child.stdout!.on("data", (b: Buffer) => (out += b));
  child.stderr!.on("data", (b: Buffer) => (err += b));
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once("close", (c, s) => resolve([c, s])));
  return { code, signal, out, err };
}

describe("Sandbox.setUp", () => {
  test("a trial run works here and says as whom commands run", async () => {
    const setup = setUpSandbox({ mode: "required" });
    expect(setup.status.ok).toBe(true);
    expect(setup.status.detail).toContain(`uid ${root ? 65534 : process.getuid!()}`);
  });

  test("without bubblewrap it says so, with the fix and the opt-out", async () => {
    const setup = setUpSandbox({ mode: "required", bwrap: "/nonexistent/bwrap" });
    expect(setup.sandbox).toBeUndefined();
    expect(setup.status).toMatchObject({ ok: false, detail: expect.stringContaining("not installed") });
    expect(setup.status.fix).toContain("apt-get install bubblewrap");
    expect(setup.status.fix).toContain("COMMAND_SANDBOX=off");
  });
});

describe("Sandbox.view", () => {
  test("the program runs unprivileged: nobody when the worker is root", async () => {
    const r = await run("id -u; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status");
    expect(r.out).toContain(`${root ? 65534 : process.getuid!()}\n`);
    expect(r.out).toMatch(/CapEff:\s+0+\n/);
    expect(r.out).toMatch(/NoNewPrivs:\s+1/);
  });

  test("own processes only: ps in the default profile shows the sandbox and nothing else", async () => {
    const holder = Bun.spawn(["sleep", "30"], { env: { PATH: "/usr/bin:/bin", HOLDS: SECRET } });
    try {
      const r = await run("ps -e -o pid=,args=");
      const lines = r.out.trim().split("\n");
      // bwrap's reaper as pid 1, bash, ps.
      expect(lines.length).toBeLessThanOrEqual(3);
      expect(lines[0]).toMatch(/^\s*1 /);
      expect(r.out).not.toContain("sleep 30");
      expect((await run(`cat /proc/${holder.pid}/environ`)).code).not.toBe(0);
    } finally {
      holder.kill();
    }
  });

  test("the data dir, home, the host's /tmp and the rest of the host are not there", async () => {
    for (const path of [hidden, secretFile, homedir(), "/root", "/home", "/var", "/work", hostTmpFile]) {
      const r = await run(`ls -a ${path}`);
      expect(r.code, path).not.toBe(0);
      expect(r.err).toContain("No such file or directory");
    }
  });

  test("only /tmp is writable, and it is private", async () => {
    for (const path of ["/etc/x", "/usr/x", "/x", "/dev/shm/x", "/proc/x"]) expect((await run(`echo x > ${path}`)).code, path).not.toBe(0);
    expect((await run("echo x > /tmp/x && cat /tmp/x")).out).toBe("x\n");
    expect(existsSync("/tmp/x")).toBe(false);
  });

  test("the environment is exactly what the caller passed (and bwrap's PWD)", async () => {
    const r = await run("env", {}, { PATH: SYSTEM_PATH, ONLY: "this" });
    expect(r.out.trim().split("\n").map((l) => l.split("=")[0]).sort()).toEqual(["ONLY", "PATH", "PWD", "SHLVL", "_"]);
  });

  test("no network by default: a loopback listener on the host stays silent", async () => {
    const r = await run(`echo -e 'GET / HTTP/1.0\\r\\n\\r\\n' > /dev/tcp/127.0.0.1/${listener.port}`);
    expect(r.code).not.toBe(0);
    expect(hits).toBe(0);
    expect((await run("ls /sys/class/net 2>/dev/null; cat /proc/net/dev")).out).not.toMatch(/eth|ens|enp/);
  });

  test("a profile with the network reaches it", async () => {
    const r = await run(`exec 3<>/dev/tcp/127.0.0.1/${listener.port}; echo -e 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3`, { network: true });
    expect(r.out).toContain("reached");
    expect(hits).toBe(1);
    hits = 0;
  });
});

describe("Sandbox.profiles", () => {
  test("host processes: other processes are listed, their environments stay closed", async () => {
    const holder = Bun.spawn(["sleep", "30"], { env: { PATH: "/usr/bin:/bin", HOLDS: SECRET } });
    try {
      const r = await run(`ps -e -o pid=,args=; cat /proc/${holder.pid}/environ; cat /proc/1/environ`, { processes: "host" });
      expect(r.out).toContain("sleep 30");
      expect(r.out).not.toContain(SECRET);
      // The worker runs as root here, the program as nobody: another user's environ is closed.
      if (root) expect(r.err).toContain("Permission denied");
      else expect(r.out).toContain(String(holder.pid));
    } finally {
      holder.kill();
    }
  });

  test("host filesystems: the host's root is there read-only, the hidden paths and homes are empty", async () => {
    const r = await run(`df --output=target /; ls -A ${hidden} /root; cat ${secretFile}; touch /var/tmp/bakerst-x`, { filesystems: "host" });
    expect(r.out).toMatch(/^\/$/m);
    expect(r.out).not.toContain("token");
    expect(r.out).not.toContain(SECRET);
    expect(r.err).toMatch(/Read-only file system|Permission denied/);
    expect(existsSync("/var/tmp/bakerst-x")).toBe(false);
  });

  test("files are handed over by content, read-only, even ones only root may read", async () => {
    const r = await run(`cat ${secretFile}; echo; echo x > ${secretFile}`, { files: [secretFile] });
    expect(r.out).toBe(`${SECRET}\n`);
    expect(r.code).not.toBe(0);
  });

  test("a $VAR file entry takes the paths from that variable", async () => {
    const r = await run(`cat ${secretFile}`, { files: ["$KUBECONFIG"] }, { ...ENV, KUBECONFIG: `${secretFile}:/nonexistent` });
    expect(r.out).toBe(SECRET);
  });

  test("binds add host paths read-only", async () => {
    const r = await run(`cat ${secretFile}; echo > ${join(hidden, "new")}`, { binds: [hidden] });
    if (root) expect(r.err).toContain("Permission denied");
    else expect(r.out).toBe(SECRET);
    expect(existsSync(join(hidden, "new"))).toBe(false);
  });
});

describe("Sandbox.limits", () => {
  test("file size: writing past the limit fails", async () => {
    const r = await run("head -c 3000000 /dev/zero > /tmp/big; echo exit=$?; stat -c %s /tmp/big", { limits: { fileSizeMiB: 1 } });
    // SIGXFSZ (128 + 25) at the limit; the file stops at 1 MiB.
    expect(r.out).toBe("exit=153\n1048576\n");
  });

  test("CPU time: a busy loop is stopped at the limit", async () => {
    const started = Date.now();
    const r = await run("while :; do :; done", { limits: { cpuSeconds: 1 } });
    // SIGXCPU or SIGKILL (soft and hard limit are the same).
    expect([128 + 9, 128 + 24]).toContain(r.code!);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  test("memory: an allocation past the limit fails", async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell script, not a template.
    const r = await run("x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo ${#x}", { limits: { memoryMiB: 64 } });
    expect(r.out).not.toContain("200000000");
    expect(r.err).toContain("cannot allocate");
  });

  test("processes: a fork bomb runs into the limit", async () => {
    const r = await run("for i in $(seq 64); do sleep 5 & done 2>&1 | head -1; echo done", { limits: { processes: 8 } });
    expect(r.out + r.err).toMatch(/Resource temporarily unavailable|retry|fork/);
  });
});

describe("Sandbox.lifetime", () => {
  test("the sandbox dies with its parent", async () => {
    const marker = `${1000 + Math.floor(Math.random() * 8000)}.25`;
    const inv = sandbox.wrap(["/usr/bin/sleep", marker], {}, ENV);
    // A parent shell that starts bwrap and waits; killing it must take the sandbox with it.
    const parent = spawn("/usr/bin/bash", ["-c", '"$@" & wait', "bash", inv.file, ...inv.args], { stdio: "ignore", env: ENV });
    // Anchored: bwrap's own command line names the sleep too.
    const alive = () => spawnSync("pgrep", ["-f", `^/usr/bin/sleep ${marker}$`], { encoding: "utf8" }).stdout.trim();
    await waitFor("sandboxed sleep running", () => alive() !== "", 10_000);
    parent.kill("SIGKILL");
    await waitFor("sandboxed sleep gone", () => alive() === "", 10_000);
  });
});

describe("Sandbox as a worker that is not root", () => {
  test("runs commands as the worker's own uid in a user namespace, with the same view", async () => {
    // A real unprivileged process: uid 1000 when this test runs as root, else this user as it is.
    const script = join(hidden, "nonroot.ts");
    writeFileSync(
      script,
      `import { spawnSync } from "node:child_process";
import { setUpSandbox, SYSTEM_PATH } from ${JSON.stringify(join(import.meta.dir, "../../satellite/sandbox/index.ts"))};
const setup = setUpSandbox({ mode: "required" });
const run = (s) => { const inv = setup.sandbox.wrap(["/usr/bin/bash", "-c", s], {}, { PATH: SYSTEM_PATH }); const r = spawnSync(inv.file, inv.args, { encoding: "utf8", env: { PATH: SYSTEM_PATH } }); return { code: r.status, out: r.stdout, err: r.stderr }; };
console.log(JSON.stringify({ status: setup.status, me: process.getuid(), id: run("id -u").out.trim(), write: run("echo x > /x").code, var: run("ls /var").code, net: run("exec 3<>/dev/tcp/127.0.0.1/${listener.port}").code, ps: run("ps -e -o pid=").out.trim().split("\\n").length }));
`,
      { mode: 0o644 },
    );
    const chmod = spawnSync("chmod", ["755", hidden]);
    expect(chmod.status).toBe(0);
    const cmd = root ? ["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", process.execPath, script] : [process.execPath, script];
    const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8", env: { PATH: SYSTEM_PATH, HOME: "/tmp" }, timeout: 30_000 });
    const got = JSON.parse(r.stdout);
    expect(got.status.ok).toBe(true);
    expect(got.id).toBe(String(got.me));
    expect(got.write).not.toBe(0);
    expect(got.var).not.toBe(0);
    expect(got.net).not.toBe(0);
    expect(got.ps).toBeLessThanOrEqual(3);
    expect(hits).toBe(0);
  }, 30_000);
});
