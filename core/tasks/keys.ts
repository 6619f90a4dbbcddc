import { type Static, Type } from "@sinclair/typebox";
import { defineKeys, type KeyValues } from "../config/keys.ts";
import { SandboxLimitsSpec } from "../protocol/index.ts";

/** The tasks area's settings. */
export const tasksKeys = defineKeys({
  TASK_ALLOWED_PATHS: { kind: "list", help: "host paths a task may mount (each, and what is under it); unset refuses every mount. The data dir never is" },
  TASK_TARGET: { kind: "string", default: "local", oneOf: ["local", "kubernetes"], help: "where a task runs when it does not say: the local sandbox, or a Kubernetes Job" },
  TASK_RUNNER: { kind: "path", help: "the runner the local sandbox starts (a bakerst-satellite binary); default: bakerst-satellite beside bakerst, else bakerst itself" },
  TASK_TIMEOUT_MS: { kind: "int", min: 1000, max: 86_400_000, default: "600000", help: "a task's timeout when it gives none" },
  TASK_CONCURRENCY: { kind: "int", min: 1, max: 256, default: "4", help: "tasks running at once on each target; the rest wait queued" },
  TASK_WAIT_TIMEOUT_MS: { kind: "int", min: 0, max: 3_600_000, default: "60000", help: "longest run_task waits for a task to end before answering without its result" },
  TASK_PREAPPROVED: { kind: "list", help: "scopes that run without asking: write:/srv/scratch (writable mounts under it), net:api.github.com, net:*.debian.org" },
  TASK_OUTPUT_MAX_BYTES: {
    kind: "int",
    min: 4096,
    max: 1024 * 1024 * 1024,
    default: String(4 * 1024 * 1024),
    help: "output kept per task (events and tail); past it only a count is kept",
  },
  TASK_KUBECONFIG: { kind: "string", help: "Kubernetes for tasks: a kubeconfig file, or in-cluster; unset turns the kubernetes target off" },
  TASK_NAMESPACE: { kind: "string", default: "bakerst-tasks", help: "namespace of task Jobs" },
  TASK_IMAGE: { kind: "string", help: "the runner image of task Jobs (deploy/tasks/task-runner.Dockerfile)" },
  TASK_EGRESS_LISTEN: {
    kind: "string",
    help: "host:port where the core serves the egress proxy to task pods with a network allowlist (e.g. 0.0.0.0:3129); unset refuses allowlists on kubernetes",
  },
  TASK_EGRESS_URL: { kind: "url", help: "how task pods reach that proxy, e.g. http://bakerst-core.bakerst.svc:3129 (default: the listen address)" },
});

export type TasksSettings = KeyValues<typeof tasksKeys>;

const AbsolutePath = Type.String({ pattern: "^/[^\\x00-\\x1f]{0,1023}$" });
const Name = Type.String({ pattern: "^[a-z0-9][a-z0-9-]{0,62}$" });
const Quantity = Type.String({ pattern: "^[0-9]+(\\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$", maxLength: 32 });

/** A volume task Jobs may mount: task mounts under `path` come from this claim (or host path), at the sub-path below it. */
export const KubernetesVolume = Type.Object(
  {
    path: AbsolutePath,
    claim: Type.Optional(Name),
    hostPath: Type.Optional(AbsolutePath),
  },
  { additionalProperties: false },
);

/** The `tasks:` section of bakerst.json/yaml. */
export const TasksFileSchema = Type.Object(
  {
    /** The local sandbox's limits for a task (memory, processes, file size, open files, CPU seconds). */
    limits: Type.Optional(SandboxLimitsSpec),
    /** Named sets of tools a task may ask for: host directories bound read-only (and put on PATH) locally, an image on Kubernetes. */
    toolboxes: Type.Optional(
      Type.Record(
        Name,
        Type.Object(
          { paths: Type.Optional(Type.Array(AbsolutePath, { maxItems: 16 })), image: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })) },
          { additionalProperties: false },
        ),
      ),
    ),
    kubernetes: Type.Optional(
      Type.Object(
        {
          /** The service account of task pods: one with no permissions (deploy/tasks/rbac.yaml). */
          serviceAccount: Type.Optional(Name),
          volumes: Type.Optional(Type.Array(KubernetesVolume, { maxItems: 32 })),
          resources: Type.Optional(
            Type.Object({ cpu: Type.Optional(Quantity), memory: Type.Optional(Quantity), ephemeralStorage: Type.Optional(Quantity) }, { additionalProperties: false }),
          ),
          /** How task pods reach NATS for progress (the pod log is read when they cannot): the URL and the Secret holding task.nk. */
          nats: Type.Optional(Type.Object({ url: Type.String({ pattern: "^(nats|tls)://" }), credsSecret: Type.Optional(Name) }, { additionalProperties: false })),
          imagePullSecrets: Type.Optional(Type.Array(Name, { maxItems: 8 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type TasksFile = Static<typeof TasksFileSchema>;
