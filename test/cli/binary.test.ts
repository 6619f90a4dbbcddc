import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseSse, tempDir } from "../helpers/app.ts";
import { compiledBinary } from "../helpers/binary.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { prompt, reply } from "../standins/script.ts";

let bin: string;
let model: AnthropicStandIn;
const procs: Bun.Subprocess[] = [];

beforeAll(async () => {
  bin = await compiledBinary();
  model = startAnthropicStandIn();
}, 120_000);
afterAll(async () => {
  for (const p of procs) p.kill("SIGKILL");
  await model.stop();
});

/**
 * Runs the binary from an empty temp dir with only the variables given: nothing beside it.
 * Async, because the model stand-in lives in this process and must keep answering.
 */
async function run(args: string[], env: Record<string, string> = {}, cwd = tempDir("bakerst-cwd-")) {
  const p = Bun.spawn([bin, ...args], { cwd, env: { PATH: "/usr/bin:/bin", ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { stdout, stderr, exitCode };
}

async function serve(env: Record<string, string>, cwd: string) {
  const proc = Bun.spawn([bin, "serve"], { cwd, env: { PATH: "/usr/bin:/bin", HOST: "127.0.0.1", PORT: "0", ...env }, stdout: "pipe", stderr: "pipe" });
  procs.push(proc);
  // The startup log line names the URL; read stderr until it shows.
  const reader = proc.stderr.getReader();
  let text = "";
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    const m = /"url":"(http:\/\/[^"]+)"/.exec(text);
    if (m) {
      reader.releaseLock();
      return { proc, url: m[1]!, log: text };
    }
  }
  throw new Error(`bakerst did not start: ${text}`);
}

describe("the compiled bakerst binary", () => {
  test("--help lists the subcommands and config keys; --version prints the version", async () => {
    const help = await run(["--help"]);
    expect(help.exitCode).toBe(0);
    const text = help.stdout;
    for (const word of ["serve", "doctor", "token", "--rotate", "ANTHROPIC_API_KEY", "BAKERST_DATA_DIR"]) expect(text).toContain(word);
    const version = await run(["--version"]);
    expect(version.stdout).toMatch(/^bakerst \d+\.\d+\.\d+\n$/);
  });

  test("a bad config value stops it with a message naming the key", async () => {
    const r = await run(["serve"], { PORT: "seventy" });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("config PORT (environment): expected an integer");
  });

  test("runs from an empty directory, prints a generated token once, and chats through the model", async () => {
    const cwd = tempDir("bakerst-run-");
    const { proc, url } = await serve({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url }, cwd);
    const tokenFile = join(cwd, "data", "auth-token");
    expect(existsSync(tokenFile)).toBe(true);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, "utf8").trim();
    expect((await fetch(`${url}/ping`)).status).toBe(200);
    model.on(prompt("hello binary"), reply().text("compiled ", "and ", "chatting"));
    const res = await fetch(`${url}/api/chat/stream`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ message: "hello binary" }),
    });
    const events = parseSse(await res.text());
    expect(
      events
        .filter((e) => e.event === "text")
        .map((e) => e.data.delta)
        .join(""),
    ).toBe("compiled and chatting");
    // The personality defaults are embedded: the system prompt reached the model.
    expect(JSON.stringify(model.requests.at(-1)!.body.system)).toContain("You are Baker Street");
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    const stdout = await new Response(proc.stdout).text();
    expect(stdout).toContain(token);

    // Second start: same data, the token is not printed again, the conversation is still there.
    const again = await serve({ ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url }, cwd);
    const list = (await (await fetch(`${again.url}/api/conversations`, { headers: { authorization: `Bearer ${token}` } })).json()) as any;
    expect(list.conversations[0].title).toBe("hello binary");
    again.proc.kill("SIGTERM");
    await again.proc.exited;
    expect(await new Response(again.proc.stdout).text()).not.toContain(token);
  });

  test("doctor marks each check and tells how to fix what fails", async () => {
    const bad = await run(["doctor"]);
    expect(bad.exitCode).toBe(1);
    const out = bad.stdout;
    expect(out).toContain("✓ data dir");
    expect(out).toContain("✓ database");
    expect(out).toContain("✗ models");
    expect(out).toContain("fix: set ANTHROPIC_API_KEY");

    const good = await run(["doctor"], { ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: model.url });
    expect(good.stdout).toContain("✓ provider anthropic: reachable");
    expect(good.exitCode).toBe(0);

    const down = await run(["doctor"], { ANTHROPIC_API_KEY: "sk-test", ANTHROPIC_BASE_URL: "http://127.0.0.1:9" });
    expect(down.exitCode).toBe(1);
    expect(down.stdout).toContain("✗ provider anthropic");
  });

  test("token prints the token and --rotate replaces it", async () => {
    const cwd = tempDir("bakerst-tok-");
    const first = (await run(["token"], {}, cwd)).stdout.trim();
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect((await run(["token"], {}, cwd)).stdout.trim()).toBe(first);
    const rotated = await run(["token", "--rotate"], {}, cwd);
    expect(rotated.exitCode).toBe(0);
    const second = rotated.stdout.split("\n")[0]!;
    expect(second).toMatch(/^[0-9a-f]{64}$/);
    expect(second).not.toBe(first);
    expect((await run(["token"], {}, cwd)).stdout.trim()).toBe(second);
  });
});
