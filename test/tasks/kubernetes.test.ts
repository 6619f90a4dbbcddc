import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { dumpYaml } from "@kubernetes/client-node";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AREAS } from "../../core/areas.ts";
import { runDoctor } from "../../core/cli/doctor.ts";
import { check, subjects, type TaskRunSpec, TaskRunSpecV1 } from "../../core/protocol/index.ts";
import { buildJob, RUNNER_PATH } from "../../core/tasks/kubernetes/job.ts";
import { NEEDED } from "../../core/tasks/kubernetes/rbac.ts";
import { makeApp, TOKEN, tempDir, testConfig } from "../helpers/app.ts";
import { type NatsServer, startNats, waitFor } from "../helpers/nats.ts";
import { restrictedViolations } from "../helpers/pss.ts";
import { createTask, endedTask, type MountArea, mountArea, outputOf, runnerBinary, taskEvents } from "../helpers/tasks.ts";
import { type KubernetesStandIn, startKubernetesStandIn } from "../standins/kubernetes.ts";

let area: MountArea;
let kube: KubernetesStandIn;
let nats: NatsServer;
let spy: NatsConnection;
const heard: { subject: string; taskId: string }[] = [];

const tasksSection = (extra: Record<string, unknown> = {}) => ({ tasks: { kubernetes: { volumes: [{ path: area.root, claim: "task-data" }], ...extra } } });
function dataDirWith(config: unknown): string {
  const dir = tempDir();
  writeFileSync(join(dir, "bakerst.json"), JSON.stringify(config));
  return dir;
}
const kubeEnv = () => ({ TASK_ALLOWED_PATHS: area.root, TASK_TARGET: "kubernetes", TASK_KUBECONFIG: kube.kubeconfig, TASK_IMAGE: "bakerst/runner:test" });

beforeAll(async () => {
  area = mountArea();
  kube = await startKubernetesStandIn({ binaries: { [RUNNER_PATH]: await runnerBinary() }, claims: { "task-data": area.root }, podNetwork: "host" });
  nats = await startNats();
  spy = await connect({ servers: nats.url });
  spy.subscribe("bakerst.tasks.>", { callback: (_e, m) => void heard.push({ subject: m.subject, taskId: m.subject.split(".")[2]! }) });
}, 120_000);
afterAll(async () => {
  await spy.close();
  await nats.cleanup();
  await kube.stop();
});

describe("Kubernetes tasks: the Job", () => {
  let h: Awaited<ReturnType<typeof makeApp>>;
  beforeAll(async () => {
    h = await makeApp(kubeEnv(), { dataDir: dataDirWith(tasksSection({ resources: { cpu: "500m", memory: "256Mi" } })) });
  });
  afterAll(() => h.close());

  test("the Job the API server receives carries the full security context and meets the restricted Pod Security Standard, field by field", async () => {
    const task = await createTask(h.request, { mode: "script", script: "ls", mounts: [area.ro, { path: area.rw, writable: true }], timeoutMs: 90_000 });
    await h.request(`/api/tasks/${task.id}/approve`, { method: "POST" });
    expect((await endedTask(h.request, task.id)).status).toBe("succeeded");
    const job = kube.jobs.find((j) => j.metadata!.name === `bakerst-task-${task.id}`)!;
    expect(job.metadata!.namespace).toBe("bakerst-tasks");
    const labels = { "app.kubernetes.io/name": "bakerst-task", "app.kubernetes.io/managed-by": "bakerst", "bakerst.dev/task": task.id, "bakerst.dev/network": "none" };
    expect(job.metadata!.labels).toEqual(labels);
    expect(job.spec!.backoffLimit).toBe(0);
    expect(job.spec!.ttlSecondsAfterFinished).toBe(300);
    expect(job.spec!.activeDeadlineSeconds).toBe(90 + 30);
    const pod = job.spec!.template.spec!;
    expect(job.spec!.template.metadata!.labels).toEqual(labels);
    expect(pod.restartPolicy).toBe("Never");
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe("bakerst-task");
    expect(pod.enableServiceLinks).toBe(false);
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } });
    const c = pod.containers[0]!;
    expect(c.image).toBe("bakerst/runner:test");
    expect(c.command).toEqual([RUNNER_PATH, "--mode", "task"]);
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(c.resources!.limits).toEqual({ cpu: "500m", memory: "256Mi", "ephemeral-storage": "256Mi" });
    expect(c.volumeMounts).toEqual([
      { name: "tmp", mountPath: "/tmp" },
      { name: "data-0", mountPath: area.ro, readOnly: true, subPath: "ro" },
      { name: "data-0", mountPath: area.rw, readOnly: false, subPath: "rw" },
    ]);
    expect(pod.volumes).toEqual([
      { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
      { name: "data-0", persistentVolumeClaim: { claimName: "task-data" } },
    ]);
    expect(restrictedViolations(pod)).toEqual([]);
    // The spec the runner reads: this task and nothing of the core's secrets.
    const specEnv = c.env!.find((e) => e.name === "TASK_SPEC")!.value!;
    const spec = JSON.parse(specEnv) as TaskRunSpec;
    expect(check(TaskRunSpecV1, spec).ok).toBe(true);
    expect(spec.id).toBe(task.id);
    expect(JSON.stringify(job)).not.toContain(TOKEN);
  }, 60_000);

  test("kubectl validates the Job, rendered to YAML, against the API's schema (and refuses one with a field Kubernetes does not have)", async () => {
    const task = await createTask(h.request, { mode: "script", script: "true", mounts: [area.ro] });
    await endedTask(h.request, task.id);
    const job = kube.jobs.find((j) => j.metadata!.name === `bakerst-task-${task.id}`)!;
    const dir = tempDir();
    // Async: the stand-in answering kubectl lives in this process.
    const kubectl = async (file: string) => {
      const p = Bun.spawn(["kubectl", "create", "--dry-run=client", "-f", file, "-o", "name"], {
        env: { PATH: "/usr/bin:/bin:/usr/local/bin", KUBECONFIG: kube.kubeconfig, HOME: dir },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr, exitCode] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      return { stdout, stderr, exitCode };
    };
    const good = join(dir, "job.yaml");
    writeFileSync(good, dumpYaml(job));
    const r = await kubectl(good);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(`job.batch/bakerst-task-${task.id}`);
    // JSON is YAML too; dumpYaml would drop a field its models do not know.
    const bad = join(dir, "bad.yaml");
    const broken = JSON.parse(JSON.stringify(job));
    broken.spec.template.spec.containers[0].securityContext.runAsRoot = false;
    writeFileSync(bad, JSON.stringify(broken));
    const refused = await kubectl(bad);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('unknown field "runAsRoot"');
  }, 60_000);

  test("the restricted check finds what breaks it: a hostPath volume, and nothing else", () => {
    const spec: TaskRunSpec = {
      v: 1,
      id: "01a2-host",
      mode: "script",
      script: "ls",
      mounts: [{ source: "/srv/media/a", target: "/srv/media/a", writable: false }],
      network: "none",
      timeoutMs: 60_000,
      reportToken: "x".repeat(32),
    };
    const job = buildJob(spec, {
      namespace: "t",
      image: "i",
      serviceAccount: "s",
      volumes: [{ path: "/srv/media", hostPath: "/srv/media" }],
      resources: { cpu: "1", memory: "1Gi", ephemeralStorage: "1Gi" },
      toolboxImage: () => undefined,
    });
    expect(restrictedViolations(job.spec!.template.spec!)).toEqual(["volumes[1].hostPath: HostPath Volumes", "volumes[1].hostPath: Volume Types"]);
  });

  test("cancel deletes the Job", async () => {
    const task = await createTask(h.request, { mode: "script", script: "echo up; sleep 60" });
    await waitFor("the task to run", async () => (await (await h.request(`/api/tasks/${task.id}`)).json()).output === "up\n", 20_000);
    await h.request(`/api/tasks/${task.id}`, { method: "DELETE" });
    expect((await endedTask(h.request, task.id)).status).toBe("cancelled");
    expect(kube.deleted).toContain(`bakerst-task-${task.id}`);
  }, 60_000);

  test("a pod log the API server cuts mid-follow ends the follow and not the core: the task still ends, and the core answers", async () => {
    const task = await createTask(h.request, { mode: "script", script: "echo up; sleep 1; echo after" });
    await waitFor("the task to run", async () => (await (await h.request(`/api/tasks/${task.id}`)).json()).output === "up\n", 20_000);
    expect(kube.resetLogs()).toBeGreaterThanOrEqual(1);
    const done = await endedTask(h.request, task.id, 30_000);
    expect(["succeeded", "failed"]).toContain(done.status);
    expect((await h.request("/ping")).status).toBe(200);
  }, 60_000);

  test("a mount under no configured volume, and a network allowlist, are refused before any Job is made", async () => {
    const before = kube.jobs.length;
    for (const body of [
      { mode: "script", script: "ls", mounts: [area.outside] },
      { mode: "script", script: "ls", network: ["api.example.com"] },
    ]) {
      const res = await h.request("/api/tasks", { method: "POST", json: body });
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe("invalid_task");
    }
    expect(kube.jobs.length).toBe(before);
  });
});

describe("Kubernetes tasks: reports over NATS, and the pod log when NATS is out of reach", () => {
  test("a pod that reaches NATS reports there; each report is kept once though it also arrives in the log", async () => {
    const h = await makeApp({ ...kubeEnv(), NATS_URL: nats.url, NATS_INSECURE: "true" }, { dataDir: dataDirWith(tasksSection({ nats: { url: nats.url } })) });
    try {
      const task = await createTask(h.request, { mode: "script", script: "seq 1 300" });
      const events = await taskEvents(h.request, task.id);
      expect(outputOf(events).trimEnd().split("\n")).toEqual(Array.from({ length: 300 }, (_, i) => String(i + 1)));
      const seqs = events.filter((e) => e.event === "progress").map((e) => e.data.seq as number);
      expect(new Set(seqs).size).toBe(seqs.length);
      // Whichever way a report comes first is the one kept; the runner's connection to NATS may come up after a short task's log.
      await waitFor("the result on NATS", () => heard.some((m) => m.subject === subjects.taskResult(task.id)), 10_000);
      expect(heard.filter((m) => m.subject === subjects.taskResult(task.id))).toHaveLength(1);
      expect((await taskEvents(h.request, task.id)).filter((e) => e.event === "result")).toHaveLength(1);
    } finally {
      await h.close();
    }
  }, 60_000);

  test("a report with another token is dropped, one with the task's own token is kept", async () => {
    const h = await makeApp({ ...kubeEnv(), NATS_URL: nats.url, NATS_INSECURE: "true" }, { dataDir: dataDirWith(tasksSection({ nats: { url: nats.url } })) });
    try {
      const task = await createTask(h.request, { mode: "script", script: "echo up; sleep 3; echo down" });
      await waitFor("the task to run", async () => (await (await h.request(`/api/tasks/${task.id}`)).json()).output === "up\n", 20_000);
      const token = (
        JSON.parse(
          kube.jobs.find((j) => j.metadata!.name === `bakerst-task-${task.id}`)!.spec!.template.spec!.containers[0]!.env!.find((e) => e.name === "TASK_SPEC")!.value!,
        ) as TaskRunSpec
      ).reportToken;
      const forged = (t: string, seq: number, text: string) =>
        JSON.stringify({ v: 1, type: "progress", taskId: task.id, token: t, seq, at: Date.now(), kind: "log", stream: "stdout", text });
      spy.publish(subjects.taskProgress(task.id), forged("not-the-token-0123456789", 100, "FORGED\n"));
      spy.publish(subjects.taskProgress(task.id), forged(token, 101, "WITH-THE-TOKEN\n"));
      const done = await endedTask(h.request, task.id);
      expect(done.output).not.toContain("FORGED");
      expect(done.output).toContain("WITH-THE-TOKEN");
    } finally {
      await h.close();
    }
  }, 60_000);

  test("a pod the NetworkPolicy keeps off the network still reports, through its log", async () => {
    const offline = await startKubernetesStandIn({ binaries: { [RUNNER_PATH]: await runnerBinary() }, claims: { "task-data": area.root }, podNetwork: "by-label" });
    const h = await makeApp(
      { ...kubeEnv(), TASK_KUBECONFIG: offline.kubeconfig, NATS_URL: nats.url, NATS_INSECURE: "true" },
      { dataDir: dataDirWith(tasksSection({ nats: { url: nats.url } })) },
    );
    try {
      const task = await createTask(h.request, { mode: "script", script: "echo through the log; exit 3" });
      const done = await endedTask(h.request, task.id);
      expect(done).toMatchObject({ status: "failed", exitCode: 3, output: "through the log\n" });
      expect(heard.filter((m) => m.taskId === task.id)).toEqual([]);
    } finally {
      await h.close();
      await offline.stop();
    }
  }, 60_000);
});

describe("Kubernetes tasks across a restart of the core", () => {
  test("a Job outlives the core: the next start takes it up, and the task ends with all its output, each line once", async () => {
    const dataDir = dataDirWith(tasksSection());
    const first = await makeApp(kubeEnv(), { dataDir });
    const task = await createTask(first.request, { mode: "script", script: "echo before; sleep 2; echo after" });
    await waitFor("the first line", async () => (await (await first.request(`/api/tasks/${task.id}`)).json()).output === "before\n", 20_000);
    await first.close(false);
    expect(kube.deleted).not.toContain(`bakerst-task-${task.id}`);
    const second = await makeApp(kubeEnv(), { dataDir });
    try {
      const done = await endedTask(second.request, task.id);
      expect(done).toMatchObject({ status: "succeeded", exitCode: 0, output: "before\nafter\n" });
      expect(outputOf(await taskEvents(second.request, task.id))).toBe("before\nafter\n");
    } finally {
      await second.close();
    }
  }, 60_000);

  test("a task whose Job is gone when the core comes back has failed, saying so", async () => {
    const dataDir = dataDirWith(tasksSection());
    const first = await makeApp(kubeEnv(), { dataDir });
    const task = await createTask(first.request, { mode: "script", script: "echo up; sleep 30" });
    await waitFor("the task to run", async () => (await (await first.request(`/api/tasks/${task.id}`)).json()).output === "up\n", 20_000);
    await first.close(false);
    await fetch(`${kube.url}/apis/batch/v1/namespaces/bakerst-tasks/jobs/bakerst-task-${task.id}`, { method: "DELETE" });
    const second = await makeApp(kubeEnv(), { dataDir });
    try {
      const done = await endedTask(second.request, task.id);
      expect(done).toMatchObject({ status: "failed", error: { code: "internal", message: expect.stringContaining("Job bakerst-task-") } });
    } finally {
      await second.close();
    }
  }, 60_000);
});

describe("Kubernetes tasks with a network allowlist: the core's egress proxy", () => {
  test("a pod reaches its listed host through the proxy with its task's credentials, and nothing else; without them, or once the task ended, the proxy asks for credentials", async () => {
    let hits = 0;
    let others = 0;
    const listed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (hits++, new Response("listed\n")) });
    const other = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (others++, new Response("other\n")) });
    const h = await makeApp({ ...kubeEnv(), TASK_EGRESS_LISTEN: "127.0.0.1:0", TASK_PREAPPROVED: `net:localhost:${listed.port}` }, { dataDir: dataDirWith(tasksSection()) });
    try {
      const script = `curl -sS -m 5 http://localhost:${listed.port}/; curl -sS -m 5 http://localhost:${other.port}/; curl -sS -m 5 http://169.254.169.254/; echo END`;
      const task = await createTask(h.request, { mode: "script", script, network: [`localhost:${listed.port}`] });
      const done = await endedTask(h.request, task.id);
      expect(done.output).toContain("listed\n");
      expect(done.output).toContain("not on the task's network allowlist");
      expect(done.output).toContain("cloud metadata");
      expect(done.output).toContain("END");
      expect({ hits, others }).toEqual({ hits: 1, others: 0 });
      const job = kube.jobs.find((j) => j.metadata!.name === `bakerst-task-${task.id}`)!;
      expect(job.metadata!.labels!["bakerst.dev/network"]).toBe("allowlist");
      const proxyUrl = job.spec!.template.spec!.containers[0]!.env!.find((e) => e.name === "TASK_PROXY_URL")!.value!;
      const proxy = new URL(proxyUrl);
      expect(proxy.username).toBe(task.id);
      // Without credentials, or with the credentials of a task that has ended: 407, and the listed host hears nothing more.
      for (const p of [`http://${proxy.host}`, proxyUrl]) {
        const res = await fetch(`http://localhost:${listed.port}/`, { proxy: p });
        expect(res.status, p.replace(proxy.password, "***")).toBe(407);
      }
      expect(hits).toBe(1);
    } finally {
      await h.close();
      listed.stop(true);
      other.stop(true);
    }
  }, 60_000);
});

describe("bakerst doctor: RBAC in the task namespace", () => {
  const names = (a: (typeof NEEDED)[number]) => `${a.verb} ${a.group ? `${a.group}/` : ""}${a.resource}${a.subresource ? `/${a.subresource}` : ""}`;
  const rbac = async () => (await runDoctor(testConfig(kubeEnv()), AREAS)).filter((c) => c.name === "task rbac");

  test("exactly what tasks need: one ✓ line naming it", async () => {
    kube.allowed.clear();
    for (const a of NEEDED) kube.allowed.add(names(a));
    const lines = await rbac();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ ok: true, detail: expect.stringContaining("create batch/jobs") });
  });

  test("a missing right is a ✗ naming it, with the Role to apply", async () => {
    kube.allowed.delete("get pods/log");
    const [line] = await rbac();
    expect(line).toMatchObject({ ok: false, detail: expect.stringContaining("may not get pods/log"), fix: expect.stringContaining("deploy/tasks/rbac.yaml") });
  });

  test("more than tasks need is a ✗ too", async () => {
    for (const a of NEEDED) kube.allowed.add(names(a));
    kube.allowed.add("create pods");
    kube.allowed.add("get secrets");
    const lines = await rbac();
    expect(lines.map((l) => l.ok)).toEqual([true, false]);
    expect(lines[1]!.detail).toContain("create pods, get secrets");
  });
});
