/**
 * The local TaskLauncher: the runner inside the bubblewrap sandbox, as a
 * child of this process (edge mode, the k3s single pod, `bakerst task run`).
 * The sandbox gets only the task's mounts, a private /tmp, its own PID and
 * network namespaces, resource limits and an unprivileged user; its ways out
 * are unix sockets bound in: the egress proxy when the task may reach hosts,
 * the model relay for an agent task. The spec goes in on stdin, which stays
 * open so the launcher can say "cancel"; on timeout or when the runner does
 * not stop, the sandbox is killed as a whole (its PID namespace goes with it).
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Static } from "@sinclair/typebox";
import type { CallOptions, ModelRouter } from "../../core/agent/router.ts";
import type { AgentLog } from "../../core/agent/types.ts";
import {
  AppError,
  decode,
  type LaunchEnd,
  type LaunchedTask,
  type LauncherStatus,
  type LaunchHooks,
  type SandboxLimitsSpec,
  type TaskLauncher,
  TaskReportV1,
  type TaskRunSpec,
} from "../../core/protocol/index.ts";
import { type EgressEvent, type EgressProxy, parseAllowlist, startEgressProxy } from "../sandbox/egress.ts";
import { type SandboxProfile, type SandboxSetup, SYSTEM_PATH } from "../sandbox/index.ts";
import { DEFAULT_TOKEN_BUDGET } from "../worker/executors/agent.ts";
import { type ModelRelay, startModelRelay } from "./relay.ts";

/** How the runner starts inside the sandbox. */
export interface RunnerCommand {
  /** Program and arguments, as the sandbox sees them: under RUNNER_DIR. */
  argv: string[];
  /** Host paths the runner needs and where they appear under RUNNER_DIR, read-only: its binary (in development, the sources and node_modules). */
  files: { source: string; target: string }[];
  /** Variables the runner itself needs (not the script: it builds its own). */
  env?: Record<string, string>;
}

/** Where the runner's files appear inside the sandbox (a place no task mount may take). */
export const RUNNER_DIR = "/opt/bakerst";

/** A compiled binary runs its modules from Bun's embedded filesystem. */
export const isCompiled = () => import.meta.path.startsWith("/$bunfs/") || import.meta.path.startsWith("B:/~BUN/");

/** A compiled binary at `path`, bound read-only under RUNNER_DIR by its own name. */
export function binaryRunner(path: string, args: string[] = []): RunnerCommand {
  const name = path.split("/").pop()!;
  return { argv: [`${RUNNER_DIR}/${name}`, ...args], files: [{ source: realpathSync(path), target: `${RUNNER_DIR}/${name}` }] };
}

/** From source (development, tests): this Bun with the sources and node_modules bound read-only, running satellite/main.ts. */
export function sourceRunner(): RunnerCommand {
  const root = resolve(import.meta.dir, "..", "..");
  const src = `${RUNNER_DIR}/src`;
  return {
    argv: [`${RUNNER_DIR}/bun`, `${src}/satellite/main.ts`],
    files: [
      { source: realpathSync(process.execPath), target: `${RUNNER_DIR}/bun` },
      ...["core", "satellite", "node_modules"].map((d) => ({ source: join(root, d), target: `${src}/${d}` })),
    ],
    // Bun would write its transpiler cache; the sandbox has nowhere to keep it.
    env: { BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" },
  };
}

export type TaskLimits = Static<typeof SandboxLimitsSpec>;

/** A task's limits unless the owner sets others: room for the runner (a Bun binary) and an ordinary script. */
export const DEFAULT_TASK_LIMITS = { memoryMiB: 2048, fileSizeMiB: 256, processes: 256, openFiles: 1024 } as const;

export interface LocalLauncherOptions {
  sandbox: SandboxSetup;
  /** How to start the runner, or why it cannot be found. */
  runner: RunnerCommand | { problem: string; fix: string };
  /** The core's router for agent tasks (the worker role); without it agent tasks fail with the reason. */
  model?: { router: Pick<ModelRouter, "stream">; call: Omit<CallOptions, "signal"> };
  limits?: TaskLimits;
  /** Between "cancel" and killing the sandbox. */
  killGraceMs?: number;
  /** Where each task's sockets are made (a private directory per task inside). */
  runDir?: string;
  log?: AgentLog;
  /** Every connection the egress proxy let through or refused. */
  onEgress?(taskId: string, e: EgressEvent): void;
}

/** Where the sockets appear inside the sandbox. */
const INSIDE = { egress: "/run/bakerst/egress.sock", model: "/run/bakerst/model.sock" } as const;
const STDERR_TAIL = 4096;

export class LocalLauncher implements TaskLauncher {
  readonly target = "local" as const;
  private runDir: string;

  constructor(private o: LocalLauncherOptions) {
    this.runDir = o.runDir ?? join(tmpdir(), `bakerst-tasks-${process.pid}`);
  }

  status(): LauncherStatus {
    const { sandbox, runner } = this.o;
    if (!sandbox.sandbox)
      return {
        ok: false,
        detail: `the sandbox does not work here, so local tasks are refused: ${sandbox.status.detail}`,
        ...(sandbox.status.fix ? { fix: sandbox.status.fix } : {}),
      };
    if ("problem" in runner) return { ok: false, detail: `local tasks are refused: ${runner.problem}`, fix: runner.fix };
    return { ok: true, detail: `tasks run in the sandbox (${sandbox.status.detail.split(":")[0]}) as uid ${sandbox.sandbox.uid}, runner ${runner.argv[0]}` };
  }

  unsupported(spec: Pick<TaskRunSpec, "toolbox">): string | undefined {
    if (spec.toolbox && !spec.toolbox.paths.length) return `toolbox: ${spec.toolbox.name} has no paths for local tasks (tasks: toolboxes: ${spec.toolbox.name}: paths)`;
    return undefined;
  }

  async launch(spec: TaskRunSpec, hooks: LaunchHooks): Promise<LaunchedTask> {
    const st = this.status();
    const sandbox = this.o.sandbox.sandbox;
    if (!st.ok || !sandbox || "problem" in this.o.runner) throw new AppError("target_unavailable", st.detail);
    const runner = this.o.runner;
    mkdirSync(this.runDir, { recursive: true, mode: 0o700 });
    const dir = mkdtempSync(join(this.runDir, "task-"));
    const stopped = new AbortController();
    const sockets: { source: string; target: string }[] = [];
    const env: Record<string, string> = { PATH: SYSTEM_PATH, LANG: "C.UTF-8", HOME: "/tmp", ...runner.env };
    let proxy: EgressProxy | undefined;
    let relay: ModelRelay | undefined;
    const cleanup = async () => {
      stopped.abort();
      relay?.close();
      await proxy?.close();
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      if (spec.network !== "none") {
        proxy = await startEgressProxy({ listen: { socket: join(dir, "egress.sock") }, allow: parseAllowlist(spec.network.allow), onEvent: (e) => this.o.onEgress?.(spec.id, e) });
        sockets.push({ source: proxy.address, target: INSIDE.egress });
        env.TASK_EGRESS_SOCKET = INSIDE.egress;
      }
      if (spec.mode === "agent" && this.o.model) {
        const socket = join(dir, "model.sock");
        relay = startModelRelay({ socket, ...this.o.model, tokenBudget: spec.tokenBudget ?? DEFAULT_TOKEN_BUDGET, signal: stopped.signal });
        sockets.push({ source: socket, target: INSIDE.model });
        env.TASK_MODEL_SOCKET = INSIDE.model;
      }
    } catch (err) {
      await cleanup();
      throw err;
    }
    const limits = { ...DEFAULT_TASK_LIMITS, cpuSeconds: Math.min(3600, Math.ceil(spec.timeoutMs / 1000) + 5), ...this.o.limits };
    const runnerFiles = runner.files.map((f) => ({ ...f, writable: false }));
    const toolbox = (spec.toolbox?.paths ?? []).map((p) => ({ source: p, target: p, writable: false }));
    const profile: SandboxProfile = { mounts: [...runnerFiles, ...toolbox, ...spec.mounts], sockets, limits };
    let child: ChildProcess;
    try {
      child = sandbox.spawn([...runner.argv, "--mode", "task", "--spec", "-"], profile, env, { stdin: "pipe" });
    } catch (err) {
      await cleanup();
      throw err;
    }
    child.stdin!.on("error", () => {});
    child.stdin!.write(`${JSON.stringify(spec)}\n`);

    let stderr = "";
    child.stderr!.on("data", (b: Buffer) => {
      stderr = (stderr + b.toString("utf8")).slice(-STDERR_TAIL);
    });
    const reading = readReports(child.stdout!, spec, hooks);
    const killAll = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    // The runner stops the task at its timeout; this is for a runner that does not.
    const deadline = setTimeout(
      () => (hooks.note?.("warn", "the runner outlived the task's timeout; killing the sandbox", { taskId: spec.id }), killAll()),
      spec.timeoutMs + (this.o.killGraceMs ?? 2_000) + 3_000,
    );
    const done = new Promise<LaunchEnd>((resolve) => {
      child.once("error", (err) => {
        stderr += `\n${err.message}`;
      });
      child.once("close", async (code, signal) => {
        clearTimeout(deadline);
        await reading;
        await cleanup();
        const last = stderr.trim().split("\n").filter(Boolean).pop();
        resolve({ exitCode: code, ...(signal ? { reason: `killed by ${signal}` } : last && code !== 0 ? { reason: lastWords(last) } : {}) });
      });
    });
    let cancelling: Promise<void> | undefined;
    return {
      done,
      cancel: () =>
        (cancelling ??= (async () => {
          child.stdin!.write("cancel\n");
          const killer = setTimeout(killAll, (this.o.killGraceMs ?? 2_000) + 1_000);
          void done.then(() => clearTimeout(killer));
        })()),
    };
  }
}

/** The runner logs JSON lines on stderr; its last message is what to show. */
function lastWords(line: string): string {
  try {
    const o = JSON.parse(line) as { msg?: string; reason?: string; error?: string };
    return [o.msg, o.reason ?? o.error].filter(Boolean).join(": ").slice(0, 500);
  } catch {
    return line.slice(0, 500);
  }
}

/** Reads the runner's stdout as report lines; anything that is not this task's report is skipped. */
async function readReports(stdout: NodeJS.ReadableStream, spec: TaskRunSpec, hooks: LaunchHooks): Promise<void> {
  const enc = new TextEncoder();
  // Decoded as a stream: a character split between two reads stays whole.
  (stdout as NodeJS.ReadableStream & { setEncoding(e: string): void }).setEncoding("utf8");
  let buf = "";
  const take = (text: string) => {
    const d = decode(TaskReportV1, enc.encode(text));
    if (!d.ok) {
      hooks.note?.("warn", "skipping a runner line that is not a report", { taskId: spec.id, reason: d.reason });
      return;
    }
    if (d.value.taskId === spec.id && d.value.token === spec.reportToken) hooks.report(d.value);
  };
  for await (const chunk of stdout) {
    buf += chunk as string;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) take(line);
    }
  }
  if (buf.trim()) take(buf);
}
