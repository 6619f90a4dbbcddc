import { spawn } from "node:child_process";
import type { Redactor } from "../../../core/agent/redact.ts";
import { type CommandJob, type CommandSyntaxError, checkArgv, JobError } from "../../../core/protocol/index.ts";
import { findProgram, type SandboxSetup, SYSTEM_PATH } from "../../sandbox/index.ts";
import { CommandRefused, PROGRAM_NAME, type Program, parseCommand } from "../commands/index.ts";

export const FIXED_PATH = SYSTEM_PATH;
export const MAX_OUTPUT_BYTES = 64 * 1024;
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

export interface CommandPolicy {
  /** The programs command jobs may run, each with its grammar and sandbox profile. */
  programs: Map<string, Program>;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Variables the worker may pass on (TZ, KUBECONFIG, KUBERNETES_SERVICE_*); a program gets TZ and those its profile names. */
  passEnv: Record<string, string>;
  sandbox: SandboxSetup;
}

export interface CheckedCommand {
  program: Program;
  path: string;
  /** The canonical arguments that run (parse.ts). */
  args: string[];
}

/** Everything a command must pass before it runs; throws a JobError naming the reason. Refusal never depends on the program being installed. */
export function checkCommand(argv: string[], policy: CommandPolicy): CheckedCommand {
  try {
    checkArgv(argv);
  } catch (err) {
    throw new JobError("invalid_job", (err as CommandSyntaxError).message);
  }
  const [name = "", ...rest] = argv;
  if (!PROGRAM_NAME.test(name)) {
    throw new JobError("refused", `argv[0]: ${JSON.stringify(name)} is not a bare program name from the allowlist (no paths, plain ASCII)`);
  }
  const program = policy.programs.get(name);
  if (!program) throw new JobError("refused", `argv[0]: ${name} is not in the command allowlist (${[...policy.programs.keys()].join(", ")})`);
  let args: string[];
  try {
    args = parseCommand(program, rest);
  } catch (err) {
    if (err instanceof CommandRefused) throw new JobError("refused", err.message);
    throw err;
  }
  const { mode, status } = policy.sandbox;
  if (mode === "required" && !policy.sandbox.sandbox) {
    throw new JobError("refused", `command jobs run only in the sandbox, which does not work here: ${status.detail}; fix: ${status.fix ?? "see bakerst doctor"}`);
  }
  const path = findProgram(name);
  if (!path) throw new JobError("refused", `argv[0]: ${name} is allowlisted but not installed in ${FIXED_PATH}`);
  return { program, path, args };
}

/** The child's whole environment: fixed basics, TZ, and the passed variables the program's profile names. */
function environment(program: Program, passEnv: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: FIXED_PATH, LANG: "C.UTF-8", LC_ALL: "C.UTF-8", HOME: "/nonexistent" };
  for (const k of ["TZ", ...(program.sandbox.env ?? [])]) {
    const v = passEnv[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}

class Capture {
  private chunks: Buffer[] = [];
  size = 0;
  dropped = 0;
  constructor(private max: number) {}
  push(b: Buffer) {
    const room = this.max - this.size;
    if (room > 0) {
      const keep = b.length > room ? b.subarray(0, room) : b;
      this.chunks.push(keep);
      this.size += keep.length;
    }
    if (b.length > room) this.dropped += b.length - Math.max(0, room);
  }
  text(redactor: Redactor): string {
    const body = redactor.redact(Buffer.concat(this.chunks).toString("utf8"));
    return this.dropped ? `${body}\n[output truncated: ${this.dropped} more bytes]` : body;
  }
}

export interface CommandResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/**
 * Runs an allowlisted program without a shell, by its canonical arguments,
 * inside the sandbox (unless the owner turned it off), in its own process
 * group with a scrubbed environment; on timeout or cancel the whole group is
 * killed (and bwrap takes the sandbox down with it).
 */
export async function runCommand(job: CommandJob, policy: CommandPolicy, redactor: Redactor, signal: AbortSignal): Promise<CommandResult> {
  const { program, path, args } = checkCommand(job.argv, policy);
  const timeoutMs = Math.min(job.timeoutMs ?? policy.timeoutMs, policy.timeoutMs * 10);
  const env = environment(program, policy.passEnv);
  // COMMAND_SANDBOX=off means unsandboxed, even where bubblewrap would work.
  const sandbox = policy.sandbox.mode === "required" ? policy.sandbox.sandbox : undefined;
  const started = performance.now();
  const child = sandbox
    ? sandbox.spawn([path, ...args], program.sandbox, env)
    : spawn(path, args, { shell: false, detached: true, stdio: ["ignore", "pipe", "pipe"], cwd: "/", env });
  // Share the cap between both streams: 64 KiB in all.
  const out = new Capture(policy.maxOutputBytes);
  const err = new Capture(Math.floor(policy.maxOutputBytes / 4));
  child.stdout!.on("data", (b: Buffer) => out.push(b));
  child.stderr!.on("data", (b: Buffer) => err.push(b));
  let why: "timeout" | "cancelled" | undefined;
  const killGroup = (reason: "timeout" | "cancelled") => {
    why ??= reason;
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => killGroup("timeout"), timeoutMs);
  const onAbort = () => killGroup("cancelled");
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const [exitCode, sig] = await new Promise<[number | null, string | null]>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code, s) => resolve([code, s]));
    });
    const result: CommandResult = {
      exitCode,
      signal: sig,
      stdout: out.text(redactor),
      stderr: err.text(redactor),
      durationMs: Math.round(performance.now() - started),
    };
    if (why === "timeout") throw new JobError("timeout", `${job.argv[0]} ran past ${timeoutMs} ms and was killed with its process group`, result);
    if (why === "cancelled") throw new JobError("timeout", `${job.argv[0]} was cancelled`, result);
    if (exitCode !== 0) {
      const first = result.stderr.split("\n").find((l) => l.trim()) ?? "";
      throw new JobError("exit_code", `${job.argv[0]} exited with ${exitCode ?? sig}${first ? `: ${first.slice(0, 300)}` : ""}`, result);
    }
    return result;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}
