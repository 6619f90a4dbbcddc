/**
 * `bakerst-satellite --mode task`: runs one task and exits with its exit code.
 * It is what runs inside the boundary: the local sandbox (the launcher hands
 * the spec over on stdin and keeps stdin open to say "cancel") or a task pod
 * (the spec in TASK_SPEC, SIGTERM to cancel). Reports go to stdout as JSON
 * lines and, when NATS_URL is set, to NATS as well.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type { AgentLog } from "../../core/agent/types.ts";
import type { Bus } from "../../core/bus/types.ts";
import { decode, encode, subjects, type TaskProgress, TaskProgressV1, type TaskResult, TaskResultV1, type TaskRunSpec, TaskRunSpecV1 } from "../../core/protocol/index.ts";
import type { SatelliteConfig } from "../config.ts";
import type { Bridge } from "../sandbox/egress.ts";
import { SYSTEM_PATH } from "../sandbox/index.ts";
import { Reporter, type ReportSink } from "./report.ts";
import { runScript } from "./script.ts";

/** Exit codes for ends without a script's own: as timeout(1) and a shell report them. */
export const EXIT_TIMED_OUT = 124;
export const EXIT_CANCELLED = 143;

export interface RunnerIo {
  stdin: NodeJS.ReadableStream;
  write(line: string): void;
  /** Resolves once what was written has left the process (before it exits). */
  drain(): Promise<void>;
  log: AgentLog;
  /** Signals the runner listens to; the process's own in production. */
  onSignal(fn: () => void): void;
}

/** The first line of stdin is the spec; later lines are the launcher's commands, and the end of stdin means the launcher is gone. */
async function specFromStdin(stdin: NodeJS.ReadableStream, onCommand: (cmd: string) => void, onEnd: () => void): Promise<string> {
  const lines = createInterface({ input: stdin, crlfDelay: Number.POSITIVE_INFINITY });
  return new Promise((resolve, reject) => {
    let first: string | undefined;
    lines.on("line", (l) => {
      if (first === undefined) resolve((first = l));
      else onCommand(l.trim());
    });
    lines.once("close", () => (first === undefined ? reject(new Error("stdin ended before the task spec")) : onEnd()));
  });
}

/** Reports waiting for the NATS connection; the log has them meanwhile, and past this many NATS gets only the later ones. */
const NATS_BACKLOG = 1000;

async function natsSink(cfg: SatelliteConfig, spec: TaskRunSpec, log: AgentLog): Promise<{ publish: ReportSink["publish"]; close(): Promise<void> } | undefined> {
  if (!cfg.natsUrl) return undefined;
  const { NatsBus } = await import("../../core/bus/nats.ts");
  const { natsAuthenticator } = await import("../../core/bus/nats-connect.ts");
  const { inboxPrefix } = await import("../../core/protocol/permissions.ts");
  let bus: Bus | undefined;
  let backlog: (TaskProgress | TaskResult)[] | undefined = [];
  const sent: Promise<void>[] = [];
  const send = (report: TaskProgress | TaskResult) => {
    const data = report.type === "result" ? encode(TaskResultV1, report) : encode(TaskProgressV1, report);
    const subject = report.type === "result" ? subjects.taskResult(spec.id) : subjects.taskProgress(spec.id);
    sent.push(bus!.publish(subject, data).catch(() => {}));
  };
  // The task does not wait for NATS: it starts at once, and what it said meanwhile follows once connected.
  const opening = (async () => {
    try {
      const creds = cfg.natsCreds ? readFileSync(cfg.natsCreds) : undefined;
      bus = await NatsBus.open({
        url: cfg.natsUrl,
        name: `bakerst-task-${spec.id}`,
        inboxPrefix: inboxPrefix({ role: "task" }),
        ...(creds ? { authenticator: natsAuthenticator(creds, cfg.natsCreds!) } : {}),
      });
      for (const r of backlog ?? []) send(r);
    } catch (err) {
      log("warn", "NATS is out of reach; reports go only to the log", { error: (err as Error).message });
    }
    backlog = undefined;
  })();
  return {
    publish(report) {
      if (bus) send(report);
      else if (backlog) {
        backlog.push(report);
        if (backlog.length > NATS_BACKLOG) backlog.shift();
      }
    },
    async close() {
      await Promise.race([opening, Bun.sleep(2_000)]);
      await Promise.race([Promise.all(sent), Bun.sleep(2_000)]);
      await bus?.close().catch(() => {});
    },
  };
}

/** The script's whole environment: fixed basics and the proxy, nothing of the runner's. */
function scriptEnv(spec: TaskRunSpec, proxyUrl: string | undefined): Record<string, string> {
  const path = [...(spec.toolbox?.paths ?? []), SYSTEM_PATH].join(":");
  const env: Record<string, string> = { PATH: path, LANG: "C.UTF-8", LC_ALL: "C.UTF-8", HOME: "/tmp", TMPDIR: "/tmp", TASK_ID: spec.id };
  if (proxyUrl) {
    for (const k of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"]) env[k] = proxyUrl;
    env.NO_PROXY = env.no_proxy = "";
  }
  return env;
}

export async function runTaskRunner(cfg: SatelliteConfig, io: RunnerIo): Promise<number> {
  const stop = new AbortController();
  const cancel = () => stop.abort("cancelled");
  io.onSignal(cancel);
  let raw: string;
  try {
    const from = cfg.task.spec;
    if (!from || (from.from === "file" && from.path === "-")) raw = await specFromStdin(io.stdin, (cmd) => cmd === "cancel" && cancel(), cancel);
    else raw = from.from === "env" ? from.json : readFileSync(from.path, "utf8");
  } catch (err) {
    io.log("error", "no task spec", { error: (err as Error).message });
    return 2;
  }
  const decoded = decode(TaskRunSpecV1, new TextEncoder().encode(raw));
  if (!decoded.ok) {
    io.log("error", "the task spec is not valid", { reason: decoded.reason });
    return 2;
  }
  const spec = decoded.value;
  const nats = await natsSink(cfg, spec, io.log);
  const reporter = new Reporter(spec, { line: io.write, flush: io.drain, ...(nats ? { publish: nats.publish } : {}) }, cfg.task.outputMaxBytes);
  reporter.event("milestone", "started");
  const timer = setTimeout(() => stop.abort("timed_out"), spec.timeoutMs);

  let bridge: Bridge | undefined;
  let end: Pick<TaskResult, "status" | "exitCode" | "answer" | "error" | "usage">;
  try {
    let proxyUrl: string | undefined;
    if (spec.network !== "none") {
      if (cfg.task.egressSocket) {
        const { startBridge } = await import("../sandbox/egress.ts");
        bridge = await startBridge(cfg.task.egressSocket);
        proxyUrl = `http://127.0.0.1:${bridge.port}`;
      } else proxyUrl = cfg.task.proxyUrl;
    }
    if (spec.network !== "none" && !proxyUrl) {
      end = {
        status: "failed",
        exitCode: null,
        error: { code: "refused", message: "the task may reach the network only through an egress proxy, and this runner was given none" },
      };
    } else if (spec.mode === "script") {
      end = await runScript({
        script: spec.script ?? "",
        env: scriptEnv(spec, proxyUrl),
        cwd: spec.mounts[0]?.target ?? "/tmp",
        timeoutMs: spec.timeoutMs,
        killGraceMs: cfg.task.killGraceMs,
        signal: stop.signal,
        reporter,
      });
    } else {
      // The agent's loop, tools and model load only for agent tasks: a script starts without them.
      const { runAgentTask } = await import("./agent.ts");
      const { RelayRouter } = await import("./relay.ts");
      const model = cfg.task.modelSocket ? { router: new RelayRouter(cfg.task.modelSocket), recordsUsage: true } : await (await import("../model.ts")).workerModel(cfg, io.log);
      if (!model) {
        end = {
          status: "failed",
          exitCode: null,
          error: {
            code: "model_error",
            message: "no model for agent tasks here: set MODEL_WORKER and its key (ANTHROPIC_API_KEY, or OPENAI_BASE_URL) in the runner's environment",
          },
        };
      } else {
        end = await runAgentTask({ spec, router: model.router, recordsUsage: model.recordsUsage, proxyUrl, signal: stop.signal, reporter });
        if (end.status === "cancelled" && stop.signal.reason === "timed_out") {
          end = { status: "timed_out", exitCode: null, error: { code: "timeout", message: `the agent ran past its timeout of ${spec.timeoutMs} ms and was stopped` } };
        }
      }
    }
  } catch (err) {
    end = { status: "failed", exitCode: null, error: { code: "internal", message: (err as Error).message } };
  } finally {
    clearTimeout(timer);
  }
  await reporter.result(end);
  await bridge?.close();
  await nats?.close();
  if (end.status === "timed_out") return EXIT_TIMED_OUT;
  if (end.status === "cancelled") return EXIT_CANCELLED;
  if (end.status === "succeeded") return 0;
  return end.exitCode && end.exitCode > 0 && end.exitCode < 256 ? end.exitCode : 1;
}
