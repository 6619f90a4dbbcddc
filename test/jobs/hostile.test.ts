import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { makeApp, tempDir } from "../helpers/app.ts";

/**
 * Every attempt here is refused with a clear error and nothing runs: the
 * payloads try to create a canary file, and it must never appear; jobs that
 * reach the worker fail before anything is spawned or connected (no result).
 */
const dir = tempDir("bakerst-canary-");
const C = join(dir, "canary");
let h: Awaited<ReturnType<typeof makeApp>>;
let redirector: ReturnType<typeof Bun.serve>;
let hits = 0;

beforeAll(async () => {
  h = await makeApp({ COMMAND_ALLOWLIST: "date,ls,df,kubectl:get|describe" });
  redirector = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      hits++;
      const to = new URL(req.url).searchParams.get("to") ?? "http://169.254.169.254/";
      return new Response(null, { status: 302, headers: { location: to } });
    },
  });
});
afterAll(async () => {
  redirector.stop(true);
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

type Expect = { at: "post"; match: RegExp } | { at: "worker"; code: "refused" | "invalid_job"; match: RegExp };
const post = (match: RegExp): Expect => ({ at: "post", match });
const refused = (match: RegExp): Expect => ({ at: "worker", code: "refused", match });
const invalid = (match: RegExp): Expect => ({ at: "worker", code: "invalid_job", match });

const cmd = (command: string) => ({ type: "command", command });
const argv = (...a: unknown[]) => ({ type: "command", argv: a });
const http = (url: string, extra: Record<string, unknown> = {}) => ({ type: "http", url, ...extra });

const CASES: [string, unknown, Expect][] = [
  ["semicolon command list", cmd(`date; touch ${C}`), post(/; \(command list\)/)],
  ["&& chain", cmd(`date && touch ${C}`), post(/&/)],
  ["|| chain", cmd(`date || touch ${C}`), post(/\|/)],
  ["pipe", cmd(`date | tee ${C}`), post(/\| \(pipe/)],
  ["background &", cmd(`touch ${C} &`), post(/& \(background/)],
  ["$() substitution", cmd(`date $(touch ${C})`), post(/\$ \(variable or command substitution\)/)],
  ["backtick substitution", cmd(`date \`touch ${C}\``), post(/backticks/)],
  ["output redirection", cmd(`date > ${C}`), post(/redirection/)],
  ["input redirection", cmd("date < /etc/passwd"), post(/redirection/)],
  ["newline injection", cmd(`date\ntouch ${C}`), post(/control characters/)],
  ["carriage return injection", cmd(`date\rtouch ${C}`), post(/control characters/)],
  ["NUL byte", cmd("date\u0000touch"), post(/control characters/)],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the label names the shell syntax under test
  ["${IFS} trick", cmd(`touch\${IFS}${C}`), post(/\$/)],
  ["variable expansion", cmd("ls $HOME"), post(/\$/)],
  ["tilde expansion", cmd("ls ~root"), post(/~/)],
  ["glob star", cmd("ls /etc/*"), post(/globbing/)],
  ["glob question mark", cmd("ls /etc/pass?d"), post(/globbing/)],
  ["subshell", cmd(`(touch ${C})`), post(/subshell/)],
  ["brace group", cmd(`{ touch ${C}; }`), post(/;|\{/)],
  ["comment", cmd("date # rm -rf /"), post(/comment/)],
  ["backslash escape", cmd(`date \\; touch ${C}`), post(/;|escapes/)],
  ["unterminated quote", cmd("date 'oops"), post(/unterminated/)],
  ["history expansion", cmd("!!"), post(/history/)],
  ["absolute /bin/sh", argv("/bin/sh", "-c", `touch ${C}`), refused(/not a bare program name/)],
  ["path trick /bin/../bin/sh", argv("/bin/../bin/sh", "-c", `touch ${C}`), refused(/not a bare program name/)],
  ["relative ./date", argv("./date"), refused(/not a bare program name/)],
  ["sh not allowlisted", argv("sh", "-c", `touch ${C}`), refused(/not in the command allowlist/)],
  ["bash not allowlisted", argv("bash", "-c", `touch ${C}`), refused(/not in the command allowlist/)],
  ["env LD_PRELOAD", argv("env", "LD_PRELOAD=/tmp/evil.so", "date"), refused(/env is not in the command allowlist/)],
  ["touch directly", argv("touch", C), refused(/not in the command allowlist/)],
  ["date --set", argv("date", "--set=2001-01-01"), refused(/date jobs may not use option --set/)],
  ["date -s", argv("date", "-s", "2001-01-01"), refused(/date jobs may not use option -s/)],
  ["date -f reads a file", argv("date", "-f", "/etc/shadow"), refused(/date jobs may not use option -f/)],
  ["argument injection --output=", argv("df", `--output=${C}`), refused(/df --output value .* is not allowed/)],
  ["kubectl forbidden subcommand", argv("kubectl", "delete", "pod", "x"), refused(/only the subcommands get, describe/)],
  ["kubectl --kubeconfig", argv("kubectl", "get", "pods", "--kubeconfig=/tmp/evil"), refused(/kubectl get jobs may not use option --kubeconfig/)],
  ["cyrillic look-alike", argv("d\u0430te"), refused(/plain ASCII/)],
  ["fullwidth look-alike", argv("\uff44\uff41\uff54\uff45"), refused(/plain ASCII/)],
  ["zero-width joiner", argv("date\u200b"), refused(/plain ASCII/)],
  ["upper-case name", argv("DATE"), refused(/plain ASCII/)],
  ["newline inside argv", argv("date", `x\ntouch ${C}`), post(/argv\[1\]: control characters/)],
  ["oversized command", cmd(`date ${"a".repeat(20_000)}`), post(/command/)],
  ["too many arguments", { type: "command", argv: Array.from({ length: 65 }, () => "a") }, post(/argv/)],
  ["argv as a string", { type: "command", argv: `touch ${C}` }, post(/argv/)],
  ["argv of numbers", argv(1, 2), post(/argv\.0/)],
  ["command as a list", { type: "command", command: ["touch", C] }, post(/command/)],
  ["unknown job type", { type: "shell", command: `touch ${C}` }, post(/type: unknown job type "shell"/)],
  ["type of wrong type", { type: ["command"], command: "date" }, post(/type: unknown job type/)],
  ["body is an array", [cmd("date")], post(/body: expected a JSON object/)],
  ["extra field smuggled", { type: "command", argv: ["date"], env: { LD_PRELOAD: "/tmp/x.so" } }, post(/env|additional/i)],
  ["metadata IPv4", http("http://169.254.169.254/latest/meta-data/"), refused(/metadata/)],
  ["metadata IPv6", http("http://[fd00:ec2::254]/"), refused(/metadata/)],
  ["metadata as decimal", http("http://2852039166/"), refused(/169\.254\.169\.254.*metadata/)],
  ["metadata as hex", http("http://0xa9fea9fe/"), refused(/metadata/)],
  ["metadata as IPv4-mapped IPv6", http("http://[::ffff:169.254.169.254]/"), refused(/metadata/)],
  ["metadata host name", http("http://metadata.google.internal/computeMetadata/v1/"), refused(/metadata host/)],
  ["file: scheme", http("file:///etc/passwd"), invalid(/only http and https/)],
  ["gopher: scheme", http("gopher://127.0.0.1:6379/_FLUSHALL"), invalid(/only http and https/)],
  ["credentials in URL", http("http://user:pass@127.0.0.1:1/"), invalid(/credentials in the URL/)],
  ["header CRLF injection", http("http://127.0.0.1:1/", { headers: { "x-a": "b\r\nInjected: 1" } }), invalid(/CR, LF and NUL/)],
  ["host header override", http("http://127.0.0.1:1/", { headers: { Host: "169.254.169.254" } }), invalid(/set by the worker/)],
  ["oversized agent prompt", { type: "agent", prompt: "x".repeat(100_001) }, post(/prompt/)],
];

describe("Hostile job input", () => {
  test(`has at least 40 cases (${CASES.length})`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });

  for (const [name, body, want] of CASES) {
    test(`refuses: ${name}`, async () => {
      const res = await h.request("/api/jobs?wait=5000", { method: "POST", json: body });
      const json = await res.json();
      if (want.at === "post") {
        expect(res.status).toBe(400);
        expect(json.error.code).toBe("invalid_job");
        expect(json.error.message).toMatch(want.match);
        return;
      }
      expect(res.status).toBe(202);
      expect(json.status).toBe("failed");
      expect(json.error.code).toBe(want.code);
      expect(json.error.message).toMatch(want.match);
      // Refused before anything was spawned or connected: no exit code, no response.
      expect(json.result).toBeUndefined();
    });
  }

  test("refuses a redirect to the metadata address after one allowed hop", async () => {
    const res = await h.request("/api/jobs?wait=5000", { method: "POST", json: http(`http://127.0.0.1:${redirector.port}/r`) });
    const json = await res.json();
    expect(json.status).toBe("failed");
    expect(json.error).toMatchObject({ code: "refused" });
    expect(json.error.message).toContain("169.254.169.254");
    expect(hits).toBe(1);
  });

  test("the canary file was never created", () => {
    expect(existsSync(C)).toBe(false);
  });
});
