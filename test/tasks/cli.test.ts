import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { linkSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TOKEN, tempDir } from "../helpers/app.ts";
import { compiledBinary, type RunningBinary, startBinary } from "../helpers/binary.ts";
import { waitFor } from "../helpers/nats.ts";
import { type MountArea, mountArea, runnerBinary } from "../helpers/tasks.ts";

/** `bakerst task run` and `bakerst task approve`, from the compiled binary, as an owner types them. */
let bin: string;
let area: MountArea;

beforeAll(async () => {
  bin = await compiledBinary();
  await runnerBinary();
  area = mountArea();
}, 180_000);

function spawn(args: string[], env: Record<string, string>, binary = bin) {
  const dataDir = join(tempDir("bakerst-cli-"), "data");
  return Bun.spawn([binary, ...args], { cwd: tempDir("bakerst-cwd-"), env: { PATH: "/usr/bin:/bin", BAKERST_DATA_DIR: dataDir, ...env }, stdout: "pipe", stderr: "pipe" });
}

async function run(args: string[], env: Record<string, string> = {}, binary = bin) {
  const p = spawn(args, { TASK_ALLOWED_PATHS: area.root, ...env }, binary);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { stdout, stderr, exitCode };
}

describe("bakerst task run, standalone on the local sandbox", () => {
  test("streams the output here and exits with the script's exit code", async () => {
    const r = await run(["task", "run", "--script", `cat ${area.ro}/file.txt; df -h ${area.ro} | tail -1; echo oops >&2; exit 3`, "--mount", area.ro, "--timeout", "60s"]);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toStartWith("read me\n");
    expect(r.stdout).toContain(area.ro);
    expect(r.stderr).toContain("oops\n");
    expect(r.stderr).toContain("task failed: the script exited with 3");
  }, 60_000);

  test("--json gives one event per line, ending with the result", async () => {
    const r = await run(["task", "run", "--script", "echo a; echo b", "--json"]);
    expect(r.exitCode).toBe(0);
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.every((e) => typeof e.task === "string" && e.task === events[0].task)).toBe(true);
    expect(
      events
        .filter((e) => e.kind === "log")
        .map((e) => e.text)
        .join(""),
    ).toBe("a\nb\n");
    expect(events.at(-1)).toMatchObject({ event: "result", status: "succeeded", exitCode: 0 });
  }, 60_000);

  test("a timeout exits 124; a refused mount exits 2 with the reason and runs nothing", async () => {
    const slow = await run(["task", "run", "--script", "sleep 30", "--timeout", "1s"]);
    expect(slow.exitCode).toBe(124);
    expect(slow.stderr).toContain("task timed_out");
    const refused = await run(["task", "run", "--script", "touch /tmp/ran", "--mount", area.outside]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain("not under TASK_ALLOWED_PATHS");
    const bad = await run(["task", "run", "--script", "true", "--timeout", "soon"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("--timeout");
  }, 60_000);

  test("a bakerst without bakerst-satellite beside it runs the task with itself as the runner", async () => {
    const alone = join(tempDir("bakerst-alone-"), "bakerst");
    linkSync(bin, alone);
    const r = await run(["task", "run", "--script", "echo from bakerst itself"], { TASK_RUNNER: "" }, alone);
    expect(r.stdout).toBe("from bakerst itself\n");
    expect(r.exitCode).toBe(0);
  }, 60_000);
});

describe("bakerst task run --server, and bakerst task approve", () => {
  let server: RunningBinary;
  beforeAll(async () => {
    server = await startBinary({ AUTH_TOKEN: TOKEN, TASK_ALLOWED_PATHS: area.root, TASK_RUNNER: await runnerBinary() });
  }, 60_000);
  afterAll(() => server.stop());

  test("a run that asks for a writable mount waits for approval, which another terminal gives; then it runs and exits 0", async () => {
    const p = spawn(["task", "run", "--server", server.url, "--script", `echo done > ${area.rw}/cli.txt; echo finished`, "--mount", `${area.rw}:rw`], { AUTH_TOKEN: TOKEN });
    let stderr = "";
    const reading = (async () => {
      for await (const chunk of p.stderr) stderr += new TextDecoder().decode(chunk);
    })();
    const id = await waitFor("the approval prompt", () => /bakerst task approve (\S+)/.exec(stderr)?.[1], 20_000);
    const approve = spawn(["task", "approve", id, "--server", server.url], { AUTH_TOKEN: TOKEN });
    expect(await approve.exited).toBe(0);
    expect(await new Response(approve.stdout).text()).toContain(`approved ${id}: write:${area.rw}`);
    const stdout = await new Response(p.stdout).text();
    expect(await p.exited).toBe(0);
    await reading;
    expect(stdout).toBe("finished\n");
    expect(readFileSync(join(area.rw, "cli.txt"), "utf8")).toBe("done\n");
  }, 60_000);

  test("a wrong token, an unknown task and an unreachable server are refused with the reason", async () => {
    const wrong = spawn(["task", "run", "--server", server.url, "--token", "nope", "--script", "true"], {});
    expect(await wrong.exited).toBe(2);
    expect(await new Response(wrong.stderr).text()).toContain("bakerst task run:");
    const unknown = spawn(["task", "approve", "no-such-task", "--server", server.url], { AUTH_TOKEN: TOKEN });
    expect(await unknown.exited).toBe(1);
    expect(await new Response(unknown.stderr).text()).toContain("not found");
    const away = spawn(["task", "approve", "x", "--server", "http://127.0.0.1:9"], { AUTH_TOKEN: TOKEN });
    expect(await away.exited).toBe(1);
    expect(await new Response(away.stderr).text()).toContain("cannot reach");
  }, 60_000);
});
