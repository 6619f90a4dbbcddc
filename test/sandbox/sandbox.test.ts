import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { type Sandbox, type SandboxProfile, SYSTEM_PATH, setUpSandbox } from "../../satellite/sandbox/index.ts";
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
/** The same sandbox with prlimit inside, where the worker cannot set the limits itself (no bun:ffi, not glibc). */
let withPrlimit: Sandbox;
let listener: ReturnType<typeof Bun.serve>;
let hits = 0;

beforeAll(() => {
  writeFileSync(secretFile, SECRET, { mode: 0o600 });
  writeFileSync(hostTmpFile, "host tmp");
  const setup = setUpSandbox({ mode: "required", hide: [hidden] });
  if (!setup.sandbox) throw new Error(`the sandbox does not work on this machine: ${setup.status.detail}`);
  sandbox = setup.sandbox;
  expect(sandbox.limitsFrom).toBe("worker");
  withPrlimit = setUpSandbox({ mode: "required", hide: [hidden], limitsFrom: "prlimit" }).sandbox!;
  expect(withPrlimit.limitsFrom).toBe("prlimit");
  listener = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (hits++, new Response("reached")) });
});
afterAll(() => {
  listener.stop(true);
  rmSync(hidden, { recursive: true, force: true });
  rmSync(hostTmpFile, { force: true });
});

const ENV = { PATH: SYSTEM_PATH, LANG: "C.UTF-8", HOME: "/nonexistent" };

/** Runs a bash script in the sandbox without blocking, so the listener in this process can answer. */
async function run(script: string, profile: SandboxProfile = {}, env: Record<string, string> = ENV, box: Sandbox = sandbox) {
  const child = box.spawn(["/usr/bin/bash", "-c", script], profile, env);
  const timer = setTimeout(() => child.pid && process.kill(-child.pid, "SIGKILL"), 20_000);
  let out = "";
  let err = "";
  let error: Error | undefined;
  child.stdout!.on("data", (b: Buffer) => (out += b));
  child.stderr!.on("data", (b: Buffer) => (err += b));
  child.on("error", (e) => (error = e));
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once("close", (c, s) => resolve([c, s])));
  clearTimeout(timer);
  return { code, signal, out, err, error };
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

  test("/dev holds null, zero and urandom and nothing else: no tty, no pts, no shared memory, no new nodes", async () => {
    const r = await run(
      "ls -A /dev; echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c; mknod /dev/x c 1 3; touch /dev/y; ls /dev/shm /dev/pts /dev/tty /dev/random",
    );
    expect(r.out).toBe("null\nurandom\nzero\n4\n4\n");
    expect(r.err).toMatch(/mknod: \/dev\/x: (Read-only file system|Operation not permitted)/);
    expect(r.err).toMatch(/touch: cannot touch '\/dev\/y': Read-only file system/);
    for (const gone of ["/dev/shm", "/dev/pts", "/dev/tty", "/dev/random"]) expect(r.err).toContain(`cannot access '${gone}': No such file or directory`);
  });

  test("/etc is a read-only copy: nothing inside can change it, and its host directory is the worker's own", async () => {
    const r = await run("echo x >> /etc/passwd; rm /etc/passwd; mv /etc/hosts /etc/h; touch /etc/new; chmod 777 /etc /etc/group; ln -s /tmp /etc/l; ls -A /etc; ls -A /tmp");
    expect(r.out).toBe("group\nhosts\nld.so.cache\nlocaltime\nnsswitch.conf\npasswd\n");
    // Writing is refused by the file's owner already (as nobody); every other change by the read-only mount.
    expect(r.err.match(/Read-only file system|Permission denied/g)?.length).toBe(7);
    // The copies outside: a 0700 directory of the worker's, under the host's /tmp (which the sandbox does not see).
    const copies = readdirSync(tmpdir(), { withFileTypes: true })
      .filter((e) => e.isDirectory() && /^bakerst-sandbox-[A-Za-z0-9]{6}$/.test(e.name))
      .map((e) => join(tmpdir(), e.name));
    expect(copies.length).toBeGreaterThan(0);
    for (const dir of copies) {
      const st = statSync(dir);
      expect(st.mode & 0o777).toBe(0o700);
      expect(st.uid).toBe(process.getuid!());
    }
    expect(readFileSync("/etc/passwd", "utf8")).not.toContain("x\nx");
  });

  test("no /proc at all for a program that does not need one: no process of the host or the sandbox is visible", async () => {
    const holder = Bun.spawn(["sleep", "30"], { env: { PATH: "/usr/bin:/bin", HOLDS: SECRET } });
    try {
      const r = await run(`ls /proc; cat /proc/${holder.pid}/environ /proc/1/environ /proc/self/status; ps -e`, { processes: "none" });
      expect(r.out).toBe("");
      expect(r.out + r.err).not.toContain(SECRET);
      expect(r.err).toContain("cannot access '/proc': No such file or directory");
      expect(r.code).not.toBe(0);
    } finally {
      holder.kill();
    }
  });

  test("the environment is exactly what the caller passed (and bwrap's PWD)", async () => {
    const r = await run("env", {}, { PATH: SYSTEM_PATH, ONLY: "this" });
    expect(
      r.out
        .trim()
        .split("\n")
        .map((l) => l.split("=")[0])
        .sort(),
    ).toEqual(["ONLY", "PATH", "PWD", "SHLVL", "_"]);
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

  test("host filesystems: the host's /dev (shared memory included) and /tmp are covered; without /proc its /proc is empty", async () => {
    const shm = `/dev/shm/bakerst-sandbox-${process.pid}`;
    writeFileSync(shm, SECRET, { mode: 0o644 });
    try {
      const r = await run(`ls -A /dev /proc /tmp; cat ${shm} ${hostTmpFile}`, { filesystems: "host", processes: "none" });
      expect(r.out).toBe("/dev:\nnull\nurandom\nzero\n\n/proc:\n\n/tmp:\n");
      expect(r.out).not.toContain(SECRET);
      expect(r.err).toContain("No such file or directory");
    } finally {
      rmSync(shm, { force: true });
    }
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

/** A Bun script in `hidden` that imports the sandbox; the tests run it as another process (a worker to kill, a worker that is not root). */
function script(name: string, body: string): string {
  const path = join(hidden, name);
  writeFileSync(path, `import { setUpSandbox, SYSTEM_PATH } from ${JSON.stringify(join(import.meta.dir, "../../satellite/sandbox/index.ts"))};\n${body}`, { mode: 0o644 });
  return path;
}

for (const mode of ["worker", "prlimit"] as const) {
  describe(`Sandbox.limits (set by ${mode === "worker" ? "the worker before the program starts" : "prlimit inside"})`, () => {
    const box = () => (mode === "worker" ? sandbox : withPrlimit);

    test("every limit is in place when the program starts", async () => {
      const r = await run("cat /proc/self/limits", { limits: { cpuSeconds: 7, memoryMiB: 96, fileSizeMiB: 3, processes: 9, openFiles: 77 } }, ENV, box());
      const limit = (name: string) => r.out.match(new RegExp(`^${name}\\s+(\\S+)\\s+(\\S+)`, "m"))?.slice(1);
      expect(limit("Max cpu time")).toEqual(["7", "7"]);
      expect(limit("Max address space")).toEqual([String(96 * 1024 * 1024), String(96 * 1024 * 1024)]);
      expect(limit("Max file size")).toEqual([String(3 * 1024 * 1024), String(3 * 1024 * 1024)]);
      expect(limit("Max processes")).toEqual(["9", "9"]);
      expect(limit("Max open files")).toEqual(["77", "77"]);
      expect(limit("Max core file size")).toEqual(["0", "0"]);
    });

    test("file size: writing past the limit fails", async () => {
      const r = await run("head -c 3000000 /dev/zero > /tmp/big; echo exit=$?; stat -c %s /tmp/big", { limits: { fileSizeMiB: 1 } }, ENV, box());
      // SIGXFSZ (128 + 25) at the limit; the file stops at 1 MiB.
      expect(r.out).toBe("exit=153\n1048576\n");
    });

    test("CPU time: a busy loop is stopped at the limit", async () => {
      const started = Date.now();
      const r = await run("while :; do :; done", { limits: { cpuSeconds: 1 } }, ENV, box());
      // SIGXCPU or SIGKILL (soft and hard limit are the same).
      expect([128 + 9, 128 + 24]).toContain(r.code!);
      expect(Date.now() - started).toBeLessThan(15_000);
    });

    test("memory: an allocation past the limit fails", async () => {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell script, not a template.
      const r = await run("x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo ${#x}", { limits: { memoryMiB: 64 } }, ENV, box());
      expect(r.out).not.toContain("200000000");
      expect(r.err).toContain("cannot allocate");
    });

    test("processes: a fork bomb runs into the limit", async () => {
      const r = await run("for i in $(seq 64); do sleep 5 & done 2>&1 | head -1; echo done", { limits: { processes: 8 } }, ENV, box());
      expect(r.out + r.err).toMatch(/Resource temporarily unavailable|retry|fork/);
    });

    test("limits the kernel refuses: the sandbox is stopped and the program never runs", async () => {
      // More open files than fs.nr_open allows: refused even to root.
      const r = await run(
        `exec 3<>/dev/tcp/127.0.0.1/${listener.port}; echo -e 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; echo ran`,
        { network: true, limits: { openFiles: 1 << 30 } },
        ENV,
        box(),
      );
      expect(r.out).not.toContain("ran");
      expect(hits).toBe(0);
      if (mode === "worker") expect(r.error?.message).toContain("resource limits could not be set");
      else expect(r.code).not.toBe(0);
    });
  });
}

describe("Sandbox.lifetime", () => {
  test("the sandbox dies with its parent", async () => {
    const marker = `${1000 + Math.floor(Math.random() * 8000)}.25`;
    // A worker that starts the sandbox and stays; killing it must take the sandbox with it.
    const path = script(
      "parent.ts",
      `const setup = setUpSandbox({ mode: "required" });
setup.sandbox.spawn(["/usr/bin/sleep", ${JSON.stringify(marker)}], {}, { PATH: SYSTEM_PATH });
setInterval(() => {}, 1000);
`,
    );
    const parent = spawn(process.execPath, [path], { stdio: "ignore", env: ENV });
    // Anchored: bwrap's own command line names the sleep too.
    const alive = () => spawnSync("pgrep", ["-f", `^/usr/bin/sleep ${marker}$`], { encoding: "utf8" }).stdout.trim();
    await waitFor("sandboxed sleep running", () => alive() !== "", 10_000);
    parent.kill("SIGKILL");
    await waitFor("sandboxed sleep gone", () => alive() === "", 10_000);
  });

  test("a worker killed before it released its sandbox leaves the sandbox waiting: the program never runs without limits", async () => {
    const marker = `bakerst-never-${process.pid}-${Date.now()}`;
    // The worker dies inside the handshake, exactly where it would set the limits.
    const path = script(
      "dies.ts",
      `import { Sandbox } from ${JSON.stringify(join(import.meta.dir, "../../satellite/sandbox/index.ts"))};
import { inspectHost } from ${JSON.stringify(join(import.meta.dir, "../../satellite/sandbox/bwrap.ts"))};
import { loadLimitSetter } from ${JSON.stringify(join(import.meta.dir, "../../satellite/sandbox/limits.ts"))};
const real = loadLimitSetter();
const root = process.getuid() === 0;
const host = inspectHost({ bwrap: "/usr/bin/bwrap", ...(root ? { setpriv: "/usr/bin/setpriv" } : {}) }, root, []);
const box = new Sandbox(host, { pipe: () => real.pipe(), set: () => process.kill(process.pid, "SIGKILL") });
void setUpSandbox;
box.spawn(["/usr/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${listener.port}; echo -e 'GET / HTTP/1.0\\r\\n\\r\\n' >&3", ${JSON.stringify(marker)}], { network: true }, { PATH: SYSTEM_PATH });
setInterval(() => {}, 1000);
`,
    );
    const worker = spawn(process.execPath, [path], { stdio: "ignore", env: ENV });
    const [, signal] = await new Promise<[number | null, string | null]>((resolve) => worker.once("close", (c, s) => resolve([c, s])));
    expect(signal).toBe("SIGKILL");
    // bwrap's sandboxed process stays blocked before its exec: its command line still names the marker, bash never ran.
    const left = () => spawnSync("pgrep", ["-f", marker], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean);
    await waitFor("the held sandbox", () => left().length > 0, 10_000);
    try {
      for (const pid of left()) {
        expect(spawnSync("cat", [`/proc/${pid}/comm`], { encoding: "utf8" }).stdout.trim()).toBe("bwrap");
      }
      expect(hits).toBe(0);
    } finally {
      for (const pid of left()) process.kill(Number(pid), "SIGKILL");
    }
  });
});

describe("Sandbox as a worker that is not root", () => {
  test("runs commands as the worker's own uid in a user namespace, with the same view", async () => {
    // A real unprivileged process: uid 1000 when this test runs as root, else this user as it is.
    const path = script(
      "nonroot.ts",
      `const setup = setUpSandbox({ mode: "required" });
const run = (s, profile = {}) => new Promise((resolve) => {
  const c = setup.sandbox.spawn(["/usr/bin/bash", "-c", s], profile, { PATH: SYSTEM_PATH });
  let out = "";
  c.stdout.on("data", (b) => (out += b));
  c.stderr.resume();
  c.on("error", (e) => (out += e.message));
  c.on("close", (code) => resolve({ code, out }));
});
const limits = (await run("cat /proc/self/limits")).out;
console.log(JSON.stringify({ status: setup.status, limitsFrom: setup.sandbox.limitsFrom, me: process.getuid(), id: (await run("id -u")).out.trim(), write: (await run("echo x > /x")).code, var: (await run("ls /var")).code, net: (await run("exec 3<>/dev/tcp/127.0.0.1/${listener.port}")).code, ps: (await run("ps -e -o pid=")).out.trim().split("\\n").length, proc: (await run("ls /proc", { processes: "none" })).code, nofile: /Max open files\\s+256\\s+256/.test(limits) }));
`,
    );
    const chmod = spawnSync("chmod", ["755", hidden]);
    expect(chmod.status).toBe(0);
    const cmd = root ? ["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", process.execPath, path] : [process.execPath, path];
    const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8", env: { PATH: SYSTEM_PATH, HOME: "/tmp" }, timeout: 30_000 });
    const got = JSON.parse(r.stdout);
    expect(got.status.ok).toBe(true);
    expect(got.limitsFrom).toBe("worker");
    expect(got.id).toBe(String(got.me));
    expect(got.write).not.toBe(0);
    expect(got.var).not.toBe(0);
    expect(got.net).not.toBe(0);
    expect(got.ps).toBeLessThanOrEqual(3);
    expect(got.proc).not.toBe(0);
    expect(got.nofile).toBe(true);
    expect(hits).toBe(0);
  }, 30_000);
});
