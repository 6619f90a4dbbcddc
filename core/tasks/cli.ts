/**
 * `bakerst task run|approve|runner`. A run streams the task's output to the
 * terminal and exits with its exit code: against a running server
 * (`--server URL`, the token from AUTH_TOKEN, --token or the data dir) or, by
 * default, standalone on the local sandbox without a server.
 */
import { parseArgs } from "node:util";
import { resolveToken } from "../auth/token.ts";
import type { Config } from "../config/index.ts";
import { taskRunnerMain } from "../jobs/edge.ts";
import { exitCodeOf, type Out, printer, runOnServer, runStandalone } from "./cli-run.ts";

export const TASK_HELP = `Usage: bakerst task run --script CMD [options]
       bakerst task approve ID [--server URL] [--token TOKEN]

run: a script task, its output streamed here; exits with the script's exit code
(124 when it timed out, 130 when cancelled).
  --script CMD        the script (/bin/sh -c CMD inside the sandbox)
  --mount PATH[:rw]   a host path under TASK_ALLOWED_PATHS, read-only unless :rw (repeatable)
  --network HOST      a host it may reach through the egress proxy (repeatable; default none)
  --timeout DURATION  60s, 5m, 1h or milliseconds (default TASK_TIMEOUT_MS)
  --target T          local or kubernetes (with --server; default TASK_TARGET)
  --server URL        run it on that bakerst (a writable mount or network then waits
                      for approval); without it, the task runs here, standalone
  --token TOKEN       the API token for --server (default AUTH_TOKEN, else the data dir's)
  --json              one JSON event per line instead of the output

approve: the owner's yes to a task waiting for approval (a writable mount or
network), on the server at --server (default this machine's, on PORT).
`;

/** `60s`, `5m`, `1h`, `1500ms`, `1500` → milliseconds. */
export function parseDuration(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "ms") as "ms"]);
}

function tokenFor(config: Config, given: string | undefined): string {
  return given ?? resolveToken(config.dataDir, config.authToken).token;
}

/** Returns the exit code. `config` is loaded only for run and approve: the runner reads its own settings. */
export async function taskCommand(args: string[], loadConfig: () => Config, out: Out): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "runner") return taskRunnerMain(rest);
  if (sub !== "run" && sub !== "approve") {
    (sub === undefined || sub === "--help" || sub === "-h" ? out.stdout : out.stderr)(TASK_HELP);
    return sub === undefined || sub === "--help" || sub === "-h" ? 0 : 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: {
        script: { type: "string" },
        mount: { type: "string", multiple: true },
        network: { type: "string", multiple: true },
        timeout: { type: "string" },
        target: { type: "string" },
        server: { type: "string" },
        token: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: sub === "approve",
      strict: true,
    });
  } catch (e) {
    out.stderr(`bakerst task ${sub}: ${(e as Error).message}\n\n${TASK_HELP}`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    out.stdout(TASK_HELP);
    return 0;
  }
  const config = loadConfig();
  if (sub === "approve") {
    const id = parsed.positionals[0];
    if (!id) {
      out.stderr(`bakerst task approve: which task? give its id\n\n${TASK_HELP}`);
      return 2;
    }
    const server = v.server ?? `http://127.0.0.1:${config.port}`;
    const res = await fetch(`${server.replace(/\/$/, "")}/api/tasks/${encodeURIComponent(id)}/approve`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokenFor(config, v.token)}` },
    }).catch((e: Error) => e);
    if (res instanceof Error) {
      out.stderr(`bakerst task approve: cannot reach ${server} (${res.message}); is bakerst running there? (--server URL)\n`);
      return 1;
    }
    const body = (await res.json().catch(() => ({}))) as { approval?: { scopes: string[] }; error?: { message: string } };
    if (!res.ok) {
      out.stderr(`bakerst task approve: ${body.error?.message ?? `HTTP ${res.status}`}\n`);
      return 1;
    }
    out.stdout(`approved ${id}: ${body.approval?.scopes.join(", ")}\n`);
    return 0;
  }
  if (!v.script) {
    out.stderr(`bakerst task run: --script is required\n\n${TASK_HELP}`);
    return 2;
  }
  const timeoutMs = v.timeout !== undefined ? parseDuration(v.timeout) : undefined;
  if (v.timeout !== undefined && !timeoutMs) {
    out.stderr(`bakerst task run: --timeout must be like 60s, 5m, 1h or milliseconds, got ${JSON.stringify(v.timeout)}\n`);
    return 2;
  }
  const request = {
    mode: "script" as const,
    script: v.script,
    mounts: (v.mount ?? []).map((m) => (m.endsWith(":rw") ? { path: m.slice(0, -3), writable: true } : { path: m.replace(/:ro$/, "") })),
    ...(v.network?.length ? { network: v.network } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(v.target ? { target: v.target } : {}),
  };
  const print = printer(out, v.json === true);
  const result = v.server ? await runOnServer(v.server, tokenFor(config, v.token), request, print, out) : await runStandalone(config, request, print, out);
  return exitCodeOf(result);
}
