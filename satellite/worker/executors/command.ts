import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { checkArgv, type CommandSyntaxError, JobError, type CommandJob } from "../../../core/protocol/index.ts";
import type { Redactor } from "../../../core/agent/redact.ts";

export const DEFAULT_COMMAND_ALLOWLIST = "uptime,df,date,uname,free,ls,ps,hostname,whoami,id,kubectl:get|describe|logs|top|version|api-resources";
export const FIXED_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
export const MAX_OUTPUT_BYTES = 64 * 1024;
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

/** A bare program name in plain ASCII: no paths, no look-alike letters. */
const PROGRAM = /^[a-z0-9][a-z0-9._+-]{0,63}$/;

/** Options that write files, load code or redirect credentials, whatever the program. */
const DANGEROUS_LONG = /^--(output|out|output-file|exec|execute|config|file|files0-from|log-file|log-dir|write|set|kubeconfig|token|server|as|as-group|as-uid|load|script|shell|plugin|cache-dir|certificate-authority|client-key|client-certificate|username|password|context|cluster|user)(=|$)/i;

/** Short options with the same reach, per program. */
const DANGEROUS_SHORT: Record<string, RegExp> = {
  date: /^-[a-zA-Z]*[sf]/,
  kubectl: /^-s/,
};

export interface CommandRule {
  /** Allowed first arguments (subcommands); undefined allows any. */
  subcommands?: Set<string>;
}

export interface CommandPolicy {
  allow: Map<string, CommandRule>;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Variables passed through to the child beyond PATH/LANG (e.g. KUBERNETES_SERVICE_HOST). */
  passEnv: Record<string, string>;
}

/** `date,uptime,kubectl:get|describe` → per-program rules; throws naming the bad entry. */
export function parseAllowlist(spec: string): Map<string, CommandRule> {
  const allow = new Map<string, CommandRule>();
  for (const raw of spec.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [name = "", subs] = raw.split(":", 2);
    if (!PROGRAM.test(name)) throw new Error(`COMMAND_ALLOWLIST: ${JSON.stringify(name)} is not a bare program name`);
    if (["sh", "bash", "dash", "zsh", "env", "sudo", "su", "xargs", "nohup", "busybox", "python3", "perl", "node", "bun"].includes(name)) {
      throw new Error(`COMMAND_ALLOWLIST: ${name} runs other programs and cannot be allowlisted`);
    }
    const subcommands = subs ? new Set(subs.split("|").map((s) => s.trim()).filter(Boolean)) : undefined;
    allow.set(name, subcommands ? { subcommands } : {});
  }
  return allow;
}

function resolveProgram(name: string): string | undefined {
  for (const dir of FIXED_PATH.split(":")) {
    const path = `${dir}/${name}`;
    if (existsSync(path) && statSync(path).isFile()) return path;
  }
  return undefined;
}

/** Everything a command must pass before it runs; throws a JobError naming the reason. */
export function checkCommand(argv: string[], policy: CommandPolicy): { path: string; args: string[] } {
  try {
    checkArgv(argv);
  } catch (err) {
    throw new JobError("invalid_job", (err as CommandSyntaxError).message);
  }
  const [program = "", ...args] = argv;
  if (!PROGRAM.test(program)) {
    throw new JobError("refused", `argv[0]: ${JSON.stringify(program)} is not a bare program name from the allowlist (no paths, plain ASCII)`);
  }
  const rule = policy.allow.get(program);
  if (!rule) throw new JobError("refused", `argv[0]: ${program} is not in the command allowlist (${[...policy.allow.keys()].join(", ")})`);
  if (rule.subcommands) {
    const sub = args[0];
    if (!sub || !rule.subcommands.has(sub)) {
      throw new JobError("refused", `argv[1]: ${program} allows only the subcommands ${[...rule.subcommands].join(", ")}; got ${JSON.stringify(sub ?? "")}`);
    }
  }
  args.forEach((arg, i) => {
    if (DANGEROUS_LONG.test(arg)) throw new JobError("refused", `argv[${i + 1}]: option ${arg.split("=")[0]} is not allowed in jobs (writes files or changes credentials)`);
    const short = DANGEROUS_SHORT[program];
    if (short && arg.startsWith("-") && !arg.startsWith("--") && short.test(arg)) {
      throw new JobError("refused", `argv[${i + 1}]: option ${arg} is not allowed for ${program} in jobs`);
    }
  });
  const path = resolveProgram(program);
  if (!path) throw new JobError("refused", `argv[0]: ${program} is allowlisted but not installed in ${FIXED_PATH}`);
  return { path, args };
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
 * Runs an allowlisted program without a shell, in its own process group with a
 * scrubbed environment; on timeout or cancel the whole group is killed.
 */
export async function runCommand(job: CommandJob, policy: CommandPolicy, redactor: Redactor, signal: AbortSignal): Promise<CommandResult> {
  const { path, args } = checkCommand(job.argv, policy);
  const timeoutMs = Math.min(job.timeoutMs ?? policy.timeoutMs, policy.timeoutMs * 10);
  const started = performance.now();
  const child = spawn(path, args, {
    shell: false,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    cwd: "/",
    env: { PATH: FIXED_PATH, LANG: "C.UTF-8", LC_ALL: "C.UTF-8", HOME: "/nonexistent", ...policy.passEnv },
  });
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
