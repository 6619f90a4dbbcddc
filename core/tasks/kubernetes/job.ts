/**
 * The Job a Kubernetes task runs as: the runner image with the seeds' full
 * security context (non-root 1000, read-only root, no privilege escalation,
 * every capability dropped, seccomp RuntimeDefault, no service-account
 * token), ended by the API server at the task's deadline, never retried,
 * cleaned up 300 s after it ends, and labelled so the NetworkPolicy in
 * deploy/tasks/ denies its egress (NATS and DNS aside).
 */
import type { V1Job, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { TaskRunSpec } from "../../protocol/index.ts";

/** Where the runner image keeps the binary (deploy/tasks/Dockerfile.runner); toolbox images build on it. */
export const RUNNER_PATH = "/usr/local/bin/bakerst-satellite";
export const CONTAINER = "runner";
export const NATS_CREDS_DIR = "/var/run/bakerst/nats";
/** Seconds past the task's timeout before the API server ends the Job itself. */
export const DEADLINE_GRACE_S = 30;

export const LABELS = { app: "app.kubernetes.io/name", managedBy: "app.kubernetes.io/managed-by", task: "bakerst.dev/task", network: "bakerst.dev/network" } as const;

export interface VolumeSource {
  /** Task mounts under this path come from here, at the sub-path below it. */
  path: string;
  claim?: string;
  hostPath?: string;
}

export interface JobSettings {
  namespace: string;
  image: string;
  serviceAccount: string;
  volumes: readonly VolumeSource[];
  resources: { cpu: string; memory: string; ephemeralStorage: string };
  nats?: { url: string; credsSecret?: string };
  imagePullSecrets?: readonly string[];
  /** A toolbox's image, by name. */
  toolboxImage(name: string): string | undefined;
  /** An HTTP proxy that enforces allowlists for pods (the core's egress listener), with the task's credentials in it. */
  proxyUrl?(taskId: string, token: string): string;
}

export const jobName = (taskId: string) => `bakerst-task-${taskId}`;

const under = (path: string, dir: string) => path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);

/** The configured volume a host path falls in, and its sub-path inside it. */
export function volumeOf(source: string, volumes: readonly VolumeSource[]): { index: number; subPath: string } | undefined {
  // The most specific volume wins.
  const candidates = volumes.map((v, index) => ({ v, index })).filter(({ v }) => under(source, v.path));
  const best = candidates.sort((a, b) => b.v.path.length - a.v.path.length)[0];
  if (!best) return undefined;
  return { index: best.index, subPath: source.slice(best.v.path.length).replace(/^\//, "") };
}

export function buildJob(spec: TaskRunSpec, s: JobSettings): V1Job {
  const labels = {
    [LABELS.app]: "bakerst-task",
    [LABELS.managedBy]: "bakerst",
    [LABELS.task]: spec.id,
    [LABELS.network]: spec.network === "none" ? "none" : "allowlist",
  };
  const volumes: V1Volume[] = [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }];
  const mounts: V1VolumeMount[] = [{ name: "tmp", mountPath: "/tmp" }];
  const used = new Set<number>();
  for (const m of spec.mounts) {
    const found = volumeOf(m.source, s.volumes);
    if (!found) throw new Error(`${m.source} is under no volume of the tasks: kubernetes section`);
    const v = s.volumes[found.index]!;
    const name = `data-${found.index}`;
    if (!used.has(found.index)) {
      used.add(found.index);
      volumes.push(v.claim ? { name, persistentVolumeClaim: { claimName: v.claim } } : { name, hostPath: { path: v.hostPath!, type: "Directory" } });
    }
    mounts.push({ name, mountPath: m.target, readOnly: !m.writable, ...(found.subPath ? { subPath: found.subPath } : {}) });
  }
  const env = [
    { name: "TASK_SPEC", value: JSON.stringify(spec) },
    { name: "LOG_LEVEL", value: "info" },
  ];
  if (s.nats) {
    env.push({ name: "NATS_URL", value: s.nats.url });
    if (s.nats.credsSecret) {
      env.push({ name: "NATS_CREDS", value: `${NATS_CREDS_DIR}/task.nk` });
      volumes.push({ name: "nats-creds", secret: { secretName: s.nats.credsSecret, defaultMode: 0o440, items: [{ key: "task.nk", path: "task.nk" }] } });
      mounts.push({ name: "nats-creds", mountPath: NATS_CREDS_DIR, readOnly: true });
    }
  }
  if (spec.network !== "none" && s.proxyUrl) env.push({ name: "TASK_PROXY_URL", value: s.proxyUrl(spec.id, spec.reportToken) });
  const image = spec.toolbox ? (s.toolboxImage(spec.toolbox.name) ?? s.image) : s.image;
  const id = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 };
  const seccompProfile = { type: "RuntimeDefault" };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: jobName(spec.id), namespace: s.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: Math.ceil(spec.timeoutMs / 1000) + DEADLINE_GRACE_S,
      ttlSecondsAfterFinished: 300,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          serviceAccountName: s.serviceAccount,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          hostNetwork: false,
          hostPID: false,
          hostIPC: false,
          terminationGracePeriodSeconds: 10,
          securityContext: { ...id, fsGroup: 1000, seccompProfile },
          ...(s.imagePullSecrets?.length ? { imagePullSecrets: s.imagePullSecrets.map((name) => ({ name })) } : {}),
          containers: [
            {
              name: CONTAINER,
              image,
              imagePullPolicy: "IfNotPresent",
              command: [RUNNER_PATH, "--mode", "task"],
              env,
              resources: {
                limits: { cpu: s.resources.cpu, memory: s.resources.memory, "ephemeral-storage": s.resources.ephemeralStorage },
                requests: { cpu: "50m", memory: "64Mi" },
              },
              securityContext: { ...id, privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile },
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}
