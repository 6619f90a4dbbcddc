/**
 * A local stand-in for the Kubernetes API server, for exactly what the task
 * launcher and `bakerst doctor` call through @kubernetes/client-node: create,
 * read and delete Jobs; list and watch pods by label; follow a pod's log;
 * SelfSubjectAccessReview. It records every Job it is given, and plays the
 * kubelet for each: the "pod" is the Job's command run in the real bubblewrap
 * sandbox, with the Job's volume mounts (claims and secrets map to host
 * directories the test names), read-only unless the mount says otherwise,
 * no network unless the NetworkPolicy label allows it, SIGTERM on delete and
 * SIGKILL after the grace period, and activeDeadlineSeconds enforced.
 */

import type { ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { type Sandbox, type SandboxMount, SYSTEM_PATH, setUpSandbox } from "../../satellite/sandbox/index.ts";
import { tempDir } from "../helpers/app.ts";
import { batchV1Definitions, DISCOVERY, encodeDocument } from "./kube-openapi.ts";

interface Pod {
  pod: V1Pod;
  job: string;
  proc?: ChildProcess;
  log: string;
  logWaiters: Set<() => void>;
  exited: boolean;
  deadline?: ReturnType<typeof setTimeout>;
}

export interface KubernetesStandIn {
  url: string;
  /** A kubeconfig for this server (insecure-skip-tls-verify, as the client wants for http). */
  kubeconfig: string;
  /** Every Job created, as received. */
  jobs: V1Job[];
  /** Jobs deleted, by name. */
  deleted: string[];
  /** Pods by name. */
  pods(): V1Pod[];
  /** Host directories behind claims and secrets, by name. */
  claims: Record<string, string>;
  secrets: Record<string, string>;
  /** What SelfSubjectAccessReview allows: `verb group/resource[/sub]` strings. */
  allowed: Set<string>;
  /** Pods whose network label is not `none` share the host's network (the NetworkPolicy lets them reach NATS); `none` pods get none. */
  /** Cuts every followed pod log mid-stream (an API server dropping connections); how many were cut. */
  resetLogs(): number;
  stop(): Promise<void>;
}

export interface StandInOptions {
  /** Image command paths → host binaries (the runner image's /usr/local/bin/bakerst-satellite → the compiled satellite). */
  binaries: Record<string, string>;
  claims?: Record<string, string>;
  secrets?: Record<string, string>;
  allowed?: string[];
  /** Network for every pod regardless of its label (a cluster where the NetworkPolicy lets NATS through). */
  podNetwork?: "by-label" | "host";
}

/** Timestamps go over the wire as RFC 3339 strings; the client types them as Date. */
const now = () => new Date().toISOString() as unknown as Date;
const status = (code: number, message: string, reason = "NotFound") =>
  Response.json({ kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code }, { status: code });

/** The pid of the program bwrap runs in the sandbox: bwrap → its PID-namespace init → the program. */
function programPid(outer: number): number | undefined {
  const child = (pid: number) => {
    try {
      return Number(readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)[0]) || undefined;
    } catch {
      return undefined;
    }
  };
  const init = child(outer);
  return init ? child(init) : undefined;
}

export async function startKubernetesStandIn(opts: StandInOptions): Promise<KubernetesStandIn> {
  const setup = setUpSandbox({ mode: "required" });
  if (!setup.sandbox) throw new Error(`the stand-in's kubelet needs the sandbox: ${setup.status.detail}`);
  const sandbox: Sandbox = setup.sandbox;
  const jobs: V1Job[] = [];
  const deleted: string[] = [];
  const pods = new Map<string, Pod>();
  const watchers = new Set<{ ns: string; selector: [string, string] | undefined; send: (type: string, pod: V1Pod) => void }>();
  const claims = { ...opts.claims };
  const secrets = { ...opts.secrets };
  const allowed = new Set(opts.allowed ?? []);
  let openapi: Uint8Array | undefined;

  const matches = (pod: V1Pod, selector: [string, string] | undefined) => !selector || pod.metadata?.labels?.[selector[0]] === selector[1];
  const notify = (type: string, p: Pod) => {
    for (const w of watchers) if (w.ns === p.pod.metadata!.namespace && matches(p.pod, w.selector)) w.send(type, p.pod);
  };
  const wakeLog = (p: Pod) => {
    for (const w of p.logWaiters) w();
  };

  function runPod(p: Pod, job: V1Job): void {
    const spec = job.spec!.template.spec!;
    const c = spec.containers[0]!;
    const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
    const mounts: SandboxMount[] = [];
    for (const vm of c.volumeMounts ?? []) {
      const v = volumes.get(vm.name);
      if (!v || v.emptyDir) continue; // the sandbox's /tmp is the emptyDir
      const base = v.persistentVolumeClaim ? claims[v.persistentVolumeClaim.claimName] : v.secret ? secrets[v.secret.secretName!] : v.hostPath?.path;
      if (!base) throw new Error(`volume ${vm.name} has nothing behind it in the stand-in`);
      mounts.push({ source: vm.subPath ? join(base, vm.subPath) : base, target: vm.mountPath, writable: vm.readOnly !== true });
    }
    const command = c.command ?? [];
    const binary = opts.binaries[command[0] ?? ""];
    if (!binary) throw new Error(`no binary for ${command[0]} in the stand-in`);
    const inside = `/opt/bakerst/${command[0]!.split("/").pop()}`;
    const env: Record<string, string> = { PATH: SYSTEM_PATH, HOME: "/tmp" };
    for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    const network = opts.podNetwork === "host" || p.pod.metadata?.labels?.["bakerst.dev/network"] !== "none";
    const proc = sandbox.spawn(
      [inside, ...command.slice(1), ...(c.args ?? [])],
      { network, mounts: [{ source: binary, target: inside, writable: false }, ...mounts], limits: { memoryMiB: 2048, processes: 256, openFiles: 1024 } },
      env,
    );
    p.proc = proc;
    const append = (b: Buffer) => {
      p.log += b.toString("utf8");
      wakeLog(p);
    };
    proc.stdout!.on("data", append);
    proc.stderr!.on("data", append);
    p.pod.status = {
      phase: "Running",
      startTime: now(),
      containerStatuses: [{ name: c.name, ready: true, restartCount: 0, image: c.image!, imageID: "", state: { running: { startedAt: now() } } }],
    };
    notify("MODIFIED", p);
    const deadline = job.spec!.activeDeadlineSeconds;
    if (deadline) {
      p.deadline = setTimeout(() => {
        p.pod.status = { ...p.pod.status, reason: "DeadlineExceeded", message: "Pod was active on the node longer than the specified deadline" };
        terminate(p, spec.terminationGracePeriodSeconds ?? 30);
      }, deadline * 1000);
    }
    proc.once("close", (code, signal) => {
      clearTimeout(p.deadline);
      p.exited = true;
      const exitCode = code ?? (signal === "SIGKILL" ? 137 : 143);
      p.pod.status = {
        ...p.pod.status,
        phase: exitCode === 0 && !p.pod.status?.reason ? "Succeeded" : "Failed",
        containerStatuses: [
          {
            name: c.name,
            ready: false,
            restartCount: 0,
            image: c.image!,
            imageID: "",
            state: { terminated: { exitCode, reason: exitCode === 0 ? "Completed" : "Error", finishedAt: now() } },
          },
        ],
      };
      wakeLog(p);
      notify("MODIFIED", p);
    });
  }

  /** What the kubelet does to a pod it stops: SIGTERM to the container's main process, SIGKILL to everything after the grace period. */
  function terminate(p: Pod, graceSeconds: number): void {
    const proc = p.proc;
    if (!proc?.pid || p.exited) return;
    const main = programPid(proc.pid);
    try {
      if (main) process.kill(main, "SIGTERM");
      else process.kill(-proc.pid, "SIGKILL");
    } catch {
      // gone
    }
    setTimeout(() => {
      try {
        if (!p.exited) process.kill(-proc.pid!, "SIGKILL");
      } catch {
        // gone
      }
    }, graceSeconds * 1000).unref?.();
  }

  function watchResponse(ns: string, selector: [string, string] | undefined, signal: AbortSignal): Response {
    const enc = new TextEncoder();
    let w: (typeof watchers extends Set<infer T> ? T : never) | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (type: string, pod: V1Pod) => {
          try {
            controller.enqueue(enc.encode(`${JSON.stringify({ type, object: pod })}\n`));
          } catch {
            if (w) watchers.delete(w);
          }
        };
        w = { ns, selector, send };
        watchers.add(w);
        for (const p of pods.values()) if (p.pod.metadata!.namespace === ns && matches(p.pod, selector)) send("ADDED", p.pod);
        signal.addEventListener("abort", () => w && watchers.delete(w));
      },
      cancel() {
        if (w) watchers.delete(w);
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  }

  /** Log streams being followed, and their waits: resetLogs() cuts every one mid-stream, as an API server that drops connections would. */
  const following = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const wakeOnReset = new Set<() => void>();

  function logResponse(p: Pod, follow: boolean, signal: AbortSignal): Response {
    const enc = new TextEncoder();
    if (!follow) return new Response(p.log, { headers: { "content-type": "text/plain" } });
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        following.add(controller);
        for (;;) {
          if (!following.has(controller)) return;
          if (sent < p.log.length) {
            controller.enqueue(enc.encode(p.log.slice(sent)));
            sent = p.log.length;
          }
          if (p.exited || signal.aborted) break;
          await new Promise<void>((resolve) => {
            const wake = () => (p.logWaiters.delete(wake), resolve());
            p.logWaiters.add(wake);
            wakeOnReset.add(wake);
          });
        }
        following.delete(controller);
        controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "text/plain" } });
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const path = url.pathname;
      let m: RegExpExecArray | null;
      if (req.method === "POST" && (m = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs$/.exec(path))) {
        const job = (await req.json()) as V1Job;
        const ns = m[1]!;
        const name = job.metadata!.name!;
        if (jobs.some((j) => j.metadata!.name === name && j.metadata!.namespace === ns)) return status(409, `jobs.batch "${name}" already exists`, "AlreadyExists");
        job.metadata = { ...job.metadata, namespace: ns, uid: crypto.randomUUID(), creationTimestamp: now() };
        jobs.push(job);
        const podName = `${name.slice(0, 57)}-${Math.random().toString(36).slice(2, 7)}`;
        const labels = { ...job.spec!.template.metadata!.labels, "job-name": name, "batch.kubernetes.io/job-name": name };
        const p: Pod = {
          pod: { apiVersion: "v1", kind: "Pod", metadata: { name: podName, namespace: ns, labels }, spec: job.spec!.template.spec!, status: { phase: "Pending" } },
          job: name,
          log: "",
          logWaiters: new Set(),
          exited: false,
        };
        pods.set(podName, p);
        notify("ADDED", p);
        setTimeout(() => {
          try {
            runPod(p, job);
          } catch (err) {
            p.exited = true;
            p.pod.status = { phase: "Failed", reason: "CreateContainerError", message: (err as Error).message };
            notify("MODIFIED", p);
          }
        }, 5);
        return Response.json(job, { status: 201 });
      }
      if ((m = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs\/([^/]+)$/.exec(path))) {
        const job = jobs.find((j) => j.metadata!.name === m![2] && j.metadata!.namespace === m![1]);
        if (!job || deleted.includes(m[2]!)) return status(404, `jobs.batch "${m[2]}" not found`);
        if (req.method === "GET") return Response.json(job);
        if (req.method === "DELETE") {
          deleted.push(m[2]!);
          for (const p of pods.values()) {
            if (p.job !== m[2]) continue;
            terminate(p, job.spec!.template.spec!.terminationGracePeriodSeconds ?? 30);
            const gone = () => (pods.delete(p.pod.metadata!.name!), notify("DELETED", p));
            if (p.exited || !p.proc) gone();
            else p.proc.once("close", () => setTimeout(gone, 5));
          }
          return Response.json({ kind: "Status", apiVersion: "v1", status: "Success", details: { name: m[2], group: "batch", kind: "jobs" } });
        }
      }
      if (req.method === "GET" && (m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path))) {
        const sel = url.searchParams.get("labelSelector")?.split("=") as [string, string] | undefined;
        if (url.searchParams.get("watch") === "true") return watchResponse(m[1]!, sel, req.signal);
        return Response.json({
          kind: "PodList",
          apiVersion: "v1",
          metadata: {},
          items: [...pods.values()].filter((p) => p.pod.metadata!.namespace === m![1] && matches(p.pod, sel)).map((p) => p.pod),
        });
      }
      if (req.method === "GET" && (m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(path))) {
        const p = pods.get(m[2]!);
        if (!p) return status(404, `pods "${m[2]}" not found`);
        return logResponse(p, url.searchParams.get("follow") === "true", req.signal);
      }
      // Discovery and the schema kubectl needs to validate a Job on its own side (--dry-run=client).
      if (req.method === "GET" && Object.hasOwn(DISCOVERY, path)) return Response.json(DISCOVERY[path as keyof typeof DISCOVERY]);
      if (req.method === "GET" && path === "/openapi/v2")
        return new Response((openapi ??= encodeDocument(batchV1Definitions())) as Uint8Array<ArrayBuffer>, {
          headers: { "content-type": "application/com.github.proto-openapi.spec.v2.v1.0+protobuf" },
        });
      if (req.method === "POST" && path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") {
        const review = (await req.json()) as { spec: { resourceAttributes: { verb: string; group?: string; resource: string; subresource?: string } } };
        const a = review.spec.resourceAttributes;
        const key = `${a.verb} ${a.group ? `${a.group}/` : ""}${a.resource}${a.subresource ? `/${a.subresource}` : ""}`;
        return Response.json({ ...review, status: { allowed: allowed.has(key) } }, { status: 201 });
      }
      return status(404, `the stand-in does not serve ${req.method} ${path}`);
    },
  });
  const dir = tempDir("bakerst-kube-");
  const kubeconfig = join(dir, "kubeconfig");
  const url = `http://127.0.0.1:${server.port}`;
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters:
- name: standin
  cluster:
    server: ${url}
    insecure-skip-tls-verify: true
users:
- name: core
  user:
    token: standin-token
contexts:
- name: standin
  context:
    cluster: standin
    user: core
current-context: standin
`,
  );
  return {
    url,
    kubeconfig,
    jobs,
    deleted,
    pods: () => [...pods.values()].map((p) => p.pod),
    claims,
    secrets,
    allowed,
    /** Cuts every followed log mid-stream; returns how many were cut. */
    resetLogs(): number {
      const cut = following.size;
      for (const c of following) c.error(new Error("connection reset by the stand-in"));
      following.clear();
      for (const w of wakeOnReset) w();
      wakeOnReset.clear();
      return cut;
    },
    async stop() {
      for (const p of pods.values()) if (p.proc?.pid && !p.exited) process.kill(-p.proc.pid, "SIGKILL");
      server.stop(true);
    },
  };
}
