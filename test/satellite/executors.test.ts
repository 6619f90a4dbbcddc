import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redactor } from "../../core/agent/redact.ts";
import { JobError } from "../../core/protocol/index.ts";
import { setUpSandbox } from "../../satellite/sandbox/index.ts";
import { runCommand } from "../../satellite/worker/executors/command.ts";
import { runHttp } from "../../satellite/worker/executors/http.ts";
import { buildPolicies } from "../../satellite/worker/policy.ts";
import { TEST_GRAMMARS } from "../helpers/grammars.ts";

const sandbox = setUpSandbox({ mode: "required" });
const policies = (over: Partial<Parameters<typeof buildPolicies>[0]> = {}) =>
  buildPolicies({
    commandAllowlist: "date,seq,printenv,echo,sleep",
    commandGrammars: TEST_GRAMMARS,
    commandTimeoutMs: 5_000,
    sandbox,
    httpAllow: [],
    httpDeny: [],
    httpTimeoutMs: 5_000,
    ...over,
  });
const never = new AbortController().signal;
const redactor = new Redactor(["configured-secret-value-1234"]);

async function refusal(p: Promise<unknown>): Promise<JobError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof JobError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("command executor", () => {
  test("output past 64 KiB is cut with a truncation marker", async () => {
    const r = await runCommand({ type: "command", argv: ["seq", "1", "200000"] }, policies().command, redactor, never);
    expect(Buffer.byteLength(r.stdout)).toBeLessThan(64 * 1024 + 100);
    expect(r.stdout).toMatch(/\[output truncated: \d+ more bytes\]$/);
    expect(r.stdout.startsWith("1\n2\n3\n")).toBe(true);
  });

  test("the child gets a scrubbed environment: fixed PATH, no LD_*, NODE_OPTIONS or keys", async () => {
    process.env.LD_PRELOAD_TEST_MARK = "x";
    process.env.OPENAI_API_KEY = "sk-should-not-leak-000000000000000000";
    process.env.NODE_OPTIONS = "--require /tmp/evil.js";
    try {
      const r = await runCommand({ type: "command", argv: ["printenv"] }, policies().command, redactor, never);
      const names = r.stdout
        .trim()
        .split("\n")
        .map((l) => l.split("=")[0])
        .sort();
      // bwrap sets PWD for the directory it starts the program in.
      expect(names).toEqual(["HOME", "LANG", "LC_ALL", "PATH", "PWD"]);
      expect(r.stdout).toContain("PWD=/\n");
      expect(r.stdout).toContain("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    } finally {
      delete process.env.LD_PRELOAD_TEST_MARK;
      delete process.env.OPENAI_API_KEY;
      delete process.env.NODE_OPTIONS;
    }
  });

  test("secrets in output are redacted: vendor token shapes and configured values", async () => {
    const secrets = [
      "sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "sk-proj-BBBBBBBBBBBBBBBBBBBBBBBBBBBB",
      "pa-CCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
      "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1",
      "MTA4NzY1NDMyMTA5ODc2NTQzMjE.GhIjKl.abcdefghijklmnopqrstuvwxyz0123",
      "ghp_0123456789abcdefghijABCDEFGHIJ0123456789",
      "AKIAIOSFODNN7EXAMPLE",
      "configured-secret-value-1234",
    ];
    const r = await runCommand({ type: "command", argv: ["echo", ...secrets] }, policies().command, redactor, never);
    for (const s of secrets) expect(r.stdout).not.toContain(s);
    expect(r.stdout.match(/\[REDACTED/g)?.length).toBe(secrets.length);
  });

  test("a timeout kills the process group and reports timeout", async () => {
    const started = Date.now();
    const err = await refusal(runCommand({ type: "command", argv: ["sleep", "30"], timeoutMs: 200 }, policies().command, redactor, never));
    expect(err.code).toBe("timeout");
    expect(err.message).toContain("killed with its process group");
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe("kubectl in its sandbox", () => {
  // Two API servers on loopback: the one the kubeconfig names, and one an attacker would name with -s.
  const seen = { configured: 0, attacker: 0 };
  let configured: ReturnType<typeof Bun.serve>;
  let attacker: ReturnType<typeof Bun.serve>;
  let dir: string;
  let kubeconfig: string;
  beforeAll(() => {
    configured = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (seen.configured++, Response.json({ kind: "Status", code: 404 }, { status: 404 })) });
    attacker = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (seen.attacker++, Response.json({ kind: "Status", code: 404 }, { status: 404 })) });
    dir = mkdtempSync("/var/tmp/bakerst-kube-");
    kubeconfig = join(dir, "config");
    const config = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "http://127.0.0.1:${configured.port}" } }]
users: [{ name: u, user: { token: kube-token-0123456789abcdef } }]
contexts: [{ name: c, context: { cluster: c, user: u, namespace: default } }]
current-context: c
`;
    // Only the worker's user may read it; the sandboxed kubectl gets it by content.
    writeFileSync(kubeconfig, config, { mode: 0o600 });
  });
  afterAll(() => {
    configured.stop(true);
    attacker.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });
  const kubectl = () => policies({ commandAllowlist: "kubectl,printenv", commandTimeoutMs: 20_000, passEnv: { KUBECONFIG: kubeconfig, TZ: "UTC" } }).command;

  test("an allowed kubectl reaches the server its kubeconfig names (so the listeners would notice)", async () => {
    const r = await refusal(runCommand({ type: "command", argv: ["kubectl", "get", "pods"] }, kubectl(), redactor, never));
    expect(r.code).toBe("exit_code");
    expect(seen.configured).toBeGreaterThan(0);
  }, 30_000);

  test("no spelling of -s/--server reaches another server", async () => {
    const url = `http://127.0.0.1:${attacker.port}`;
    for (const argv of [
      ["-s", url, "get", "pods"],
      ["get", "pods", `--server=${url}`],
      ["get", "-As", url, "pods"],
      ["get", "pods", `-s=${url}`],
      ["get", "pods", "--insecure_skip_tls_verify", `-s${url}`],
    ]) {
      const err = await refusal(runCommand({ type: "command", argv: ["kubectl", ...argv] }, kubectl(), redactor, never));
      expect(err.code).toBe("refused");
    }
    expect(seen.attacker).toBe(0);
  }, 30_000);

  test("KUBECONFIG goes to kubectl only: another program neither sees the variable nor the file", async () => {
    const r = await runCommand({ type: "command", argv: ["printenv"] }, kubectl(), redactor, never);
    expect(r.stdout).not.toContain("KUBECONFIG");
    expect(r.stdout).toContain("TZ=UTC");
  });
});

describe("http executor", () => {
  let server: ReturnType<typeof Bun.serve>;
  let base: string;
  beforeAll(() => {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const url = new URL(req.url);
        if (url.pathname === "/echo") return Response.json({ method: req.method, body: await req.text(), auth: req.headers.get("authorization") });
        if (url.pathname === "/big") return new Response("x".repeat(2 * 1024 * 1024));
        if (url.pathname === "/to-metadata") return Response.redirect("http://169.254.169.254/latest/meta-data/", 302);
        if (url.pathname === "/to-v6-metadata") return Response.redirect("http://[fd00:ec2::254]/", 301);
        if (url.pathname === "/hop") return Response.redirect(`${base}/echo`, 302);
        if (url.pathname === "/secret") return new Response("token=ghp_0123456789abcdefghijABCDEFGHIJ0123456789");
        if (url.pathname === "/slow") return new Promise((r) => setTimeout(() => r(new Response("late")), 3_000));
        return new Response("nope", { status: 404 });
      },
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server.stop(true));

  test("sends method, headers and body and returns status and body", async () => {
    const r = await runHttp({ type: "http", url: `${base}/echo`, method: "POST", body: "hello", headers: { authorization: "Bearer abc" } }, policies().http, redactor, never);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ method: "POST", body: "hello", auth: "Bearer abc" });
  });

  test("follows a redirect to an allowed host, re-checking it", async () => {
    const r = await runHttp({ type: "http", url: `${base}/hop` }, policies().http, redactor, never);
    expect(r.status).toBe(200);
    expect(r.url).toBe(`${base}/echo`);
  });

  test("refuses a redirect to a metadata address, v4 or v6", async () => {
    for (const path of ["/to-metadata", "/to-v6-metadata"]) {
      const err = await refusal(runHttp({ type: "http", url: `${base}${path}` }, policies().http, redactor, never));
      expect(err.code).toBe("refused");
      expect(err.message).toMatch(/metadata/);
    }
  });

  test("caps the response body with a marker and redacts secrets in it", async () => {
    const big = await runHttp({ type: "http", url: `${base}/big` }, policies().http, redactor, never);
    expect(big.body).toContain("[response truncated at 1048576 bytes]");
    const secret = await runHttp({ type: "http", url: `${base}/secret` }, policies().http, redactor, never);
    expect(secret.body).toBe("token=[REDACTED:github]");
  });

  test("times out a slow server", async () => {
    const err = await refusal(runHttp({ type: "http", url: `${base}/slow`, timeoutMs: 200 }, policies().http, redactor, never));
    expect(err.code).toBe("timeout");
  });

  test("HTTP_JOB_DENY and HTTP_JOB_ALLOW decide which hosts are reachable", async () => {
    const denied = await refusal(runHttp({ type: "http", url: `${base}/echo` }, policies({ httpDeny: ["127.0.0.0/8"] }).http, redactor, never));
    expect(denied.message).toContain("HTTP_JOB_DENY");
    const notAllowed = await refusal(runHttp({ type: "http", url: `${base}/echo` }, policies({ httpAllow: ["10.0.0.0/8", "api.example.com"] }).http, redactor, never));
    expect(notAllowed.message).toContain("not on HTTP_JOB_ALLOW");
    const allowed = await runHttp({ type: "http", url: `${base}/echo` }, policies({ httpAllow: ["127.0.0.1"] }).http, redactor, never);
    expect(allowed.status).toBe(200);
  });

  test("metadata stays refused even when the allow list names it", async () => {
    const err = await refusal(runHttp({ type: "http", url: "http://169.254.169.254/" }, policies({ httpAllow: ["169.254.0.0/16"] }).http, redactor, never));
    expect(err.code).toBe("refused");
  });
});
