/**
 * Script mode: `/bin/sh -c SCRIPT` in its own process group, output streamed
 * as progress. A shell is allowed here because the boundary is the sandbox
 * (or the pod) around the runner, not a policy on the script. On timeout or
 * cancel the group gets SIGTERM, then SIGKILL after the grace; when the shell
 * ends, whatever it left behind in its group goes too, and the sandbox's PID
 * namespace takes the rest once the runner exits.
 */
import { spawn } from "node:child_process";
import type { TaskResult } from "../../core/protocol/index.ts";
import type { Reporter } from "./report.ts";

export interface ScriptRun {
  script: string;
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
  killGraceMs: number;
  /** Aborted with reason "timed_out" or "cancelled" (SIGTERM to the runner, or the launcher's word on stdin). */
  signal: AbortSignal;
  reporter: Reporter;
}

export type ScriptEnd = Pick<TaskResult, "status" | "exitCode" | "error">;

/** How long output may keep coming after the shell exits, from something it left behind holding the pipe. */
const DRAIN_MS = 500;

export async function runScript(o: ScriptRun): Promise<ScriptEnd> {
  const child = spawn("/bin/sh", ["-c", o.script], { detached: true, stdio: ["ignore", "pipe", "pipe"], env: o.env, cwd: o.cwd });
  child.stdout!.on("data", (b: Buffer) => o.reporter.output("stdout", b));
  child.stderr!.on("data", (b: Buffer) => o.reporter.output("stderr", b));
  const group = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      // the group is gone
    }
  };
  let why: "timed_out" | "cancelled" | undefined;
  let hard: ReturnType<typeof setTimeout> | undefined;
  const stop = (reason: "timed_out" | "cancelled") => {
    if (why) return;
    why = reason;
    group("SIGTERM");
    hard = setTimeout(() => group("SIGKILL"), o.killGraceMs);
  };
  const onAbort = () => stop(o.signal.reason === "timed_out" ? "timed_out" : "cancelled");
  if (o.signal.aborted) onAbort();
  else o.signal.addEventListener("abort", onAbort, { once: true });

  try {
    const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (c, s) => {
        // The shell is done: what it left in its group goes, and pipes held open elsewhere are cut after a moment.
        group("SIGKILL");
        const cut = setTimeout(() => (child.stdout?.destroy(), child.stderr?.destroy(), resolve([c, s])), DRAIN_MS);
        child.once("close", () => (clearTimeout(cut), resolve([c, s])));
      });
    });
    if (why === "timed_out")
      return { status: "timed_out", exitCode: code, error: { code: "timeout", message: `the script ran past its timeout of ${o.timeoutMs} ms and was stopped` } };
    if (why === "cancelled") return { status: "cancelled", exitCode: code };
    if (code === 0) return { status: "succeeded", exitCode: 0 };
    return { status: "failed", exitCode: code, error: { code: "exit_code", message: code !== null ? `the script exited with ${code}` : `the script was killed by ${sig}` } };
  } catch (err) {
    return { status: "failed", exitCode: null, error: { code: "internal", message: `the script could not start: ${(err as Error).message}` } };
  } finally {
    if (hard) clearTimeout(hard);
    o.signal.removeEventListener("abort", onAbort);
  }
}
