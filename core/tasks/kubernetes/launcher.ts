/**
 * The Kubernetes TaskLauncher: a Job per task through @kubernetes/client-node,
 * its pod watched for phase and exit, and its log followed: the runner writes
 * every report there too, so a pod that cannot reach NATS still reports (the
 * core keeps each report once). Cancel deletes the Job; the pod gets SIGTERM
 * and the runner reports `cancelled` on its way out.
 */
import { PassThrough } from "node:stream";
import { BatchV1Api, KubeConfig, Log, type V1Pod, Watch } from "@kubernetes/client-node";
import {
  AppError,
  decode,
  type LaunchEnd,
  type LaunchedTask,
  type LauncherStatus,
  type LaunchHooks,
  type TaskLauncher,
  TaskReportV1,
  type TaskRunSpec,
} from "../../protocol/index.ts";
import type { Logger } from "../../telemetry/log.ts";
import type { TasksFile, TasksSettings } from "../keys.ts";
import { buildJob, CONTAINER, type JobSettings, jobName, LABELS, volumeOf } from "./job.ts";

/** Loads TASK_KUBECONFIG: a kubeconfig file, or `in-cluster` (the pod's service account). */
export function kubeConfig(setting: string): KubeConfig {
  const kc = new KubeConfig();
  if (setting === "in-cluster") kc.loadFromCluster();
  else kc.loadFromFile(setting);
  return kc;
}

export function jobSettings(settings: TasksSettings, file: TasksFile): JobSettings {
  const k = file.kubernetes ?? {};
  return {
    namespace: settings.TASK_NAMESPACE,
    image: settings.TASK_IMAGE ?? "",
    serviceAccount: k.serviceAccount ?? "bakerst-task",
    volumes: k.volumes ?? [],
    resources: { cpu: k.resources?.cpu ?? "1", memory: k.resources?.memory ?? "512Mi", ephemeralStorage: k.resources?.ephemeralStorage ?? "256Mi" },
    ...(k.nats ? { nats: k.nats } : {}),
    ...(k.imagePullSecrets ? { imagePullSecrets: k.imagePullSecrets } : {}),
    toolboxImage: (name) => file.toolboxes?.[name]?.image,
  };
}

/** What a pod's status says about how its runner ended. */
function endOf(pod: V1Pod): LaunchEnd | undefined {
  const phase = pod.status?.phase;
  const term = pod.status?.containerStatuses?.find((c) => c.name === CONTAINER)?.state?.terminated;
  if (phase !== "Succeeded" && phase !== "Failed" && !term) return undefined;
  const reason = [pod.status?.reason, term?.reason && term.reason !== "Completed" && term.reason !== "Error" ? term.reason : undefined, pod.status?.message]
    .filter(Boolean)
    .join(": ");
  return { exitCode: term?.exitCode ?? null, ...(reason ? { reason } : {}) };
}

export class KubernetesLauncher implements TaskLauncher {
  readonly target = "kubernetes" as const;
  private batch: BatchV1Api;

  constructor(
    private kc: KubeConfig,
    private s: JobSettings,
    private log: Logger,
    private problem?: string,
  ) {
    this.batch = kc.makeApiClient(BatchV1Api);
  }

  /** `proxyUrl` is the core's egress proxy for pods (egress.ts), when it serves one. */
  static fromConfig(settings: TasksSettings, file: TasksFile, log: Logger, proxyUrl?: (taskId: string, token: string) => string): KubernetesLauncher {
    const s = { ...jobSettings(settings, file), ...(proxyUrl ? { proxyUrl } : {}) };
    try {
      const kc = kubeConfig(settings.TASK_KUBECONFIG!);
      return new KubernetesLauncher(kc, s, log, settings.TASK_IMAGE ? undefined : "TASK_IMAGE is not set: task Jobs need the runner image");
    } catch (err) {
      return new KubernetesLauncher(new KubeConfig(), s, log, `TASK_KUBECONFIG ${settings.TASK_KUBECONFIG}: ${(err as Error).message}`);
    }
  }

  status(): LauncherStatus {
    if (this.problem) return { ok: false, detail: this.problem, fix: "set TASK_KUBECONFIG (a kubeconfig file or in-cluster) and TASK_IMAGE; run bakerst doctor" };
    return { ok: true, detail: `Jobs in namespace ${this.s.namespace} on ${this.kc.getCurrentCluster()?.server ?? "(no cluster)"}, image ${this.s.image}` };
  }

  unsupported(spec: Pick<TaskRunSpec, "mounts" | "network" | "toolbox" | "mode">): string | undefined {
    for (const m of spec.mounts) {
      if (!volumeOf(m.source, this.s.volumes)) {
        return `mounts: ${m.source} is under no volume task Jobs may mount (tasks: kubernetes: volumes: ${this.s.volumes.map((v) => v.path).join(", ") || "none"})`;
      }
    }
    if (spec.network !== "none" && !this.s.proxyUrl) {
      return "network: Kubernetes tasks reach hosts only through the core's egress proxy, which is off: set TASK_EGRESS_LISTEN (and TASK_EGRESS_URL), or use target local";
    }
    if (spec.toolbox && !this.s.toolboxImage(spec.toolbox.name)) return `toolbox: ${spec.toolbox.name} has no image for Kubernetes (tasks: toolboxes: ${spec.toolbox.name}: image)`;
    return undefined;
  }

  async launch(spec: TaskRunSpec, hooks: LaunchHooks): Promise<LaunchedTask> {
    const name = jobName(spec.id);
    const ns = this.s.namespace;
    try {
      await this.batch.createNamespacedJob({ namespace: ns, body: buildJob(spec, this.s) });
    } catch (err) {
      throw new AppError("target_unavailable", `could not create Job ${name} in ${ns}: ${apiMessage(err)}`);
    }
    return new JobRun(this.kc, ns, name, spec, hooks, this.log, () => this.delete(name)).start();
  }

  async attach(spec: TaskRunSpec, hooks: LaunchHooks): Promise<LaunchedTask> {
    const name = jobName(spec.id);
    try {
      await this.batch.readNamespacedJob({ name, namespace: this.s.namespace });
    } catch (err) {
      throw new AppError("target_unavailable", `its Job ${name} is gone: ${apiMessage(err)}`);
    }
    // The pod's log is read again from the start; the core keeps only the reports it has not seen.
    return new JobRun(this.kc, this.s.namespace, name, spec, hooks, this.log, () => this.delete(name)).start();
  }

  private async delete(name: string): Promise<void> {
    try {
      await this.batch.deleteNamespacedJob({ name, namespace: this.s.namespace, propagationPolicy: "Background" });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
  }

  async forget(taskId: string): Promise<void> {
    await this.delete(jobName(taskId));
  }
}

function apiMessage(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  let body = e.body;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body);
    } catch {
      // plain text
    }
  }
  const msg = (body as { message?: string } | undefined)?.message;
  return e.code ? `${e.code} ${msg ?? e.message ?? ""}`.trim() : (e.message ?? String(err));
}

/** One Job: its pod watched, its log followed, until both say it is over. */
class JobRun {
  private pod?: V1Pod;
  private following = false;
  private logEnded = false;
  private deleted?: LaunchEnd;
  private watch?: AbortController;
  private logStream?: PassThrough;
  private closed = false;
  private resolve!: (e: LaunchEnd) => void;
  readonly done = new Promise<LaunchEnd>((r) => (this.resolve = r));
  private cancelling?: Promise<void>;

  constructor(
    private kc: KubeConfig,
    private ns: string,
    private name: string,
    private spec: TaskRunSpec,
    private hooks: LaunchHooks,
    private log: Logger,
    private deleteJob: () => Promise<void>,
  ) {}

  start(): LaunchedTask {
    void this.watchPods();
    return {
      done: this.done,
      detach: () => {
        this.closed = true;
        this.watch?.abort();
        // Not the request's own abort: client-node leaves the error that raises unhandled. The log's connection ends with this process.
        this.logStream?.destroy();
      },
      cancel: () =>
        (this.cancelling ??= (async () => {
          await this.deleteJob().catch((err) => this.hooks.note?.("warn", "could not delete the Job", { job: this.name, error: apiMessage(err) }));
          // A pod that never started has no log to end and may vanish without a final phase.
          setTimeout(() => this.finish({ exitCode: null, reason: "the Job was deleted" }), 30_000).unref?.();
        })()),
    };
  }

  private async watchPods(): Promise<void> {
    // A watch the API server ends (its timeout) is taken up again at once; one that fails backs off to 10 s.
    for (let failures = 0; !this.closed; ) {
      let failed = false;
      const ended = new Promise<void>((resolve) => {
        new Watch(this.kc)
          .watch(
            `/api/v1/namespaces/${this.ns}/pods`,
            { labelSelector: `${LABELS.task}=${this.spec.id}` },
            (type, pod: V1Pod) => this.onPod(type, pod),
            (err) => {
              if (err && !this.closed) {
                failed = true;
                if (failures === 0) this.hooks.note?.("warn", "the pod watch failed; watching again", { job: this.name, error: (err as Error).message });
              }
              resolve();
            },
          )
          .then((c) => (this.watch = c))
          .catch(() => ((failed = true), resolve()));
      });
      await ended;
      failures = failed ? failures + 1 : 0;
      if (!this.closed && failures) await Bun.sleep(Math.min(10_000, 250 * 2 ** failures));
    }
  }

  private onPod(type: string, pod: V1Pod): void {
    if (type === "DELETED") {
      // Its log may still be draining; give it a moment.
      this.deleted = endOf(pod) ?? { exitCode: null, reason: "the pod was deleted" };
      if (this.logEnded || !this.following) this.finish(this.deleted, true);
      else setTimeout(() => this.finish(this.deleted!, true), 3_000).unref?.();
      return;
    }
    this.pod = pod;
    const phase = pod.status?.phase;
    const waiting = pod.status?.containerStatuses?.find((c) => c.name === CONTAINER)?.state?.waiting;
    if (waiting?.reason && /BackOff|Err|Invalid/.test(waiting.reason))
      this.hooks.note?.("warn", "the task pod cannot start", { job: this.name, reason: waiting.reason, message: waiting.message });
    if (!this.following && (phase === "Running" || phase === "Succeeded" || phase === "Failed")) void this.followLog(pod.metadata!.name!);
    const end = endOf(pod);
    if (end && this.logEnded) this.finish(end);
  }

  private async followLog(pod: string): Promise<void> {
    this.following = true;
    const stream = new PassThrough();
    this.logStream = stream;
    stream.setEncoding("utf8");
    // Writes that race a detach land on a destroyed stream; nothing to report.
    stream.on("error", () => {});
    // The client pipes the response body into this stream without listening for its errors: a connection the API
    // server resets mid-follow would throw out of the process. Ended here instead, as a log that stopped.
    stream.once("pipe", (body: NodeJS.ReadableStream) => body.on("error", (err: Error) => stream.destroy(err)));
    const enc = new TextEncoder();
    let buf = "";
    const take = (line: string) => {
      if (!line.startsWith("{")) return;
      const d = decode(TaskReportV1, enc.encode(line));
      if (d.ok && d.value.taskId === this.spec.id && d.value.token === this.spec.reportToken) this.hooks.report(d.value);
    };
    stream.on("data", (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        take(buf.slice(0, nl).trim());
        buf = buf.slice(nl + 1);
      }
    });
    const over = new Promise<void>((resolve) => {
      stream.once("end", resolve);
      stream.once("close", resolve);
      stream.once("error", resolve);
    });
    try {
      await new Log(this.kc).log(this.ns, pod, CONTAINER, stream, { follow: true });
      await over;
    } catch (err) {
      this.hooks.note?.("warn", "could not follow the task pod's log", { job: this.name, error: apiMessage(err) });
    }
    if (buf.trim()) take(buf.trim());
    this.logEnded = true;
    const end = this.deleted ?? (this.pod ? endOf(this.pod) : undefined);
    if (end) this.finish(end);
  }

  private finish(end: LaunchEnd, force = false): void {
    if (this.closed || (!force && !this.logEnded && this.following)) return;
    this.closed = true;
    this.watch?.abort();
    this.log.debug("task Job ended", { job: this.name, exitCode: end.exitCode, reason: end.reason });
    this.resolve(end);
  }
}
