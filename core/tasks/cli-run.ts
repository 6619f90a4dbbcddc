import { Redactor } from "../agent/redact.ts";
import { parseSseBlock } from "../api/sse.ts";
import { AuditLog } from "../audit/service.ts";
import type { Config } from "../config/index.ts";
import { openStore } from "../db/client.ts";
import { AppError } from "../errors.ts";
import type { TaskReport, TaskRunSpec } from "../protocol/index.ts";
import { silentLogger } from "../telemetry/log.ts";
import { newId } from "../util/ids.ts";
import { tasksFile } from "./area.ts";
import { tasksKeys } from "./keys.ts";
import { createLocalLauncher } from "./local.ts";
import { resolveMounts } from "./mounts.ts";
import { parseTaskRequest } from "./request.ts";
import { newReportToken } from "./runs.ts";

export interface Out {
  stdout(s: string): void;
  stderr(s: string): void;
}

/** How a run ended: the task's end, or why it never started. */
export type Ended = { status: string; exitCode?: number | null } | { refused: string };

/** The script's own code; 124 for a timeout and 130 for a cancel, as a shell says them; 1 for any other failure, 2 for a refusal. */
export function exitCodeOf(e: Ended): number {
  if ("refused" in e) return 2;
  if (e.status === "timed_out") return 124;
  if (e.status === "cancelled") return 130;
  if (typeof e.exitCode === "number" && e.exitCode >= 0 && e.exitCode < 256) return e.exitCode;
  return e.status === "succeeded" ? 0 : 1;
}

export interface Printer {
  id: string;
  event(name: string, data: Record<string, unknown>): void;
}

/** The output as it was written (stdout here, stderr there), notes on stderr; or every event as a JSON line. */
export function printer(out: Out, json: boolean): Printer {
  const p: Printer = {
    id: "",
    event(name, data) {
      if (json) return out.stdout(`${JSON.stringify({ event: name, ...(p.id ? { task: p.id } : {}), ...data })}\n`);
      const text = String(data.text ?? "");
      if (name === "progress") {
        if (data.kind === "log") (data.stream === "stderr" ? out.stderr : out.stdout)(text);
        else if (data.kind === "thinking") out.stdout(text);
        else if (data.kind === "tool") out.stderr(`» ${data.name}: ${text}\n`);
        else if (text !== "started") out.stderr(`# ${text}\n`);
      } else if (name === "status" && data.approval === "pending") {
        out.stderr(`waiting for the owner's approval of ${(data.scopes as string[]).join(", ")}: bakerst task approve ${p.id}\n`);
      } else if (name === "result" && data.status !== "succeeded") {
        const error = data.error as { message?: string } | undefined;
        out.stderr(`task ${data.status}${error?.message ? `: ${error.message}` : ""}\n`);
      }
    },
  };
  return p;
}

/** On a running server: POST, then follow the event stream (resuming after a dropped connection) to the end; Ctrl-C cancels the task. */
export async function runOnServer(server: string, token: string, request: unknown, print: Printer, out: Out): Promise<Ended> {
  const base = server.replace(/\/$/, "");
  const auth = { authorization: `Bearer ${token}` };
  const res = await fetch(`${base}/api/tasks`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(request) }).catch((e: Error) => e);
  if (res instanceof Error) {
    out.stderr(`bakerst task run: cannot reach ${base} (${res.message})\n`);
    return { refused: res.message };
  }
  const created = (await res.json().catch(() => ({}))) as { id?: string; error?: { message: string } };
  if (res.status !== 202 || !created.id) {
    const why = created.error?.message ?? `HTTP ${res.status}`;
    out.stderr(`bakerst task run: ${why}\n`);
    return { refused: why };
  }
  const id = created.id;
  print.id = id;
  const onInt = () => void fetch(`${base}/api/tasks/${id}`, { method: "DELETE", headers: auth }).catch(() => {});
  process.on("SIGINT", onInt);
  let last = 0;
  let result: Ended | undefined;
  try {
    for (let attempt = 0; !result && attempt < 30; attempt++) {
      const stream = await fetch(`${base}/api/tasks/${id}/events`, { headers: { ...auth, "last-event-id": String(last) } }).catch(() => undefined);
      if (stream?.ok && stream.body) {
        const dec = new TextDecoder();
        let buf = "";
        for await (const chunk of stream.body) {
          buf += dec.decode(chunk, { stream: true });
          let cut: number;
          while ((cut = buf.indexOf("\n\n")) >= 0) {
            const ev = parseSseBlock(buf.slice(0, cut));
            buf = buf.slice(cut + 2);
            if (!ev) continue;
            last = ev.id ?? last;
            print.event(ev.event, ev.data as Record<string, unknown>);
            if (ev.event === "result") result = ev.data as Ended;
          }
        }
      }
      if (!result) await Bun.sleep(Math.min(5_000, 200 * 2 ** attempt));
    }
  } finally {
    process.off("SIGINT", onInt);
  }
  return result ?? { status: "failed", exitCode: null };
}

/** Here, on the local sandbox, without a server: the one at the terminal is the owner, so nothing waits for approval. The audit log still hears of it. */
export async function runStandalone(config: Config, request: { target?: string } & Record<string, unknown>, print: Printer, out: Out): Promise<Ended> {
  if (request.target && request.target !== "local") {
    out.stderr("bakerst task run: a standalone run uses the local sandbox; give --server to run on Kubernetes\n");
    return { refused: "target" };
  }
  const settings = config.read(tasksKeys);
  let spec: TaskRunSpec;
  try {
    const req = parseTaskRequest(request);
    const mounts = resolveMounts(req.mounts, {
      allowed: settings.TASK_ALLOWED_PATHS,
      forbidden: [config.dataDir, config.nats.credsFile, config.file].filter((p): p is string => !!p),
    });
    spec = {
      v: 1,
      id: newId(),
      mode: "script",
      script: req.script!,
      mounts,
      network: req.network,
      timeoutMs: req.timeoutMs ?? settings.TASK_TIMEOUT_MS,
      reportToken: newReportToken(),
    };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    out.stderr(`bakerst task run: ${err.message}\n`);
    return { refused: err.message };
  }
  const launcher = createLocalLauncher({ config, settings, file: tasksFile(config), log: silentLogger });
  const st = launcher.status();
  if (!st.ok) {
    out.stderr(`bakerst task run: ${st.detail}${st.fix ? `\nfix: ${st.fix}` : ""}\n`);
    return { refused: st.detail };
  }
  print.id = spec.id;
  const store = openStore(config.dataDir);
  const audit = new AuditLog(store.db, { secrets: () => config.secrets() });
  const redactor = new Redactor(config.secrets());
  const writable = spec.mounts.filter((m) => m.writable).length;
  audit.record({
    action: "task.requested",
    outcome: "ok",
    actor: "cli",
    target: spec.id,
    detail: { mode: "script", target: "local", mounts: spec.mounts.length, writable, hosts: spec.network === "none" ? 0 : spec.network.allow.length, standalone: true },
  });
  let result: Ended | undefined;
  const started = Date.now();
  try {
    const launched = await launcher.launch(spec, {
      report(r: TaskReport) {
        const { v: _, type, taskId: __, token: ___, ...data } = r;
        if ("text" in data) data.text = redactor.redact(data.text);
        print.event(type, data);
        if (r.type === "result") result = { status: r.status, exitCode: r.exitCode };
      },
    });
    const onInt = () => void launched.cancel();
    process.on("SIGINT", onInt);
    const end = await launched.done;
    process.off("SIGINT", onInt);
    if (!result) {
      result = { status: "failed", exitCode: end.exitCode };
      print.event("result", {
        status: "failed",
        exitCode: end.exitCode,
        error: { code: "internal", message: `the runner ended without a result${end.reason ? `: ${end.reason}` : ""}` },
      });
    }
    return result;
  } finally {
    const r = result && "status" in result ? result : undefined;
    audit.record({
      action: "task.finished",
      outcome: r?.status === "succeeded" || r?.status === "cancelled" ? "ok" : "failed",
      actor: "cli",
      target: spec.id,
      detail: { status: r?.status ?? "failed", exitCode: r?.exitCode ?? null, durationMs: Date.now() - started, target: "local" },
    });
    audit.close();
    store.close();
  }
}
