/**
 * Every overlay and example under deploy/ rendered with `kubectl kustomize`
 * (offline), and every object walked: the restricted Pod Security Standard
 * for each pod, requests and limits, probes, a default deny covering every
 * namespace with pods, RBAC that lets the core create task Jobs and nothing
 * else, and no secret written into a manifest.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(import.meta.dir, "..", "..");
const deploy = join(root, "deploy");

/** Each kustomization that deploys something: the overlays and the examples. */
const TARGETS = ["overlays", "examples"].flatMap((d) => readdirSync(join(deploy, d)).map((name) => join(deploy, d, name)));

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: any;
};

function kubectl(): string {
  const found = Bun.which("kubectl") ?? Bun.which("kubectl", { PATH: "/usr/local/bin:/usr/bin:/bin" });
  if (!found) throw new Error("kubectl is not installed; the deploy tests need it (apt-get install kubernetes-client, or npm test installs it as root)");
  return found;
}

function render(dir: string): Obj[] {
  const r = Bun.spawnSync([kubectl(), "kustomize", dir], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`kubectl kustomize ${relative(root, dir)} failed: ${r.stderr.toString()}`);
  const docs = Bun.YAML.parse(r.stdout.toString());
  return (Array.isArray(docs) ? docs : [docs]).filter(Boolean) as Obj[];
}

interface PodOf {
  owner: string;
  kind: string;
  namespace: string;
  labels: Record<string, string>;
  spec: any;
}

/** The pod template of each workload. */
function pods(objs: Obj[]): PodOf[] {
  return objs.flatMap((o) => {
    const owner = `${o.kind}/${o.metadata.name}`;
    const ns = o.metadata.namespace ?? "default";
    const t =
      o.kind === "CronJob"
        ? o.spec.jobTemplate.spec.template
        : ["Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"].includes(o.kind)
          ? o.spec.template
          : o.kind === "Pod"
            ? o
            : undefined;
    return t ? [{ owner, kind: o.kind, namespace: ns, labels: t.metadata?.labels ?? {}, spec: t.spec }] : [];
  });
}

const ALLOWED_VOLUMES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];
const LONG_RUNNING = ["Deployment", "StatefulSet", "DaemonSet"];

/** Every way a pod breaks the restricted Pod Security Standard (and the house's rules beyond it), as readable lines. */
function podProblems(p: PodOf): string[] {
  const out: string[] = [];
  const s = p.spec;
  const psc = s.securityContext ?? {};
  const where = (c?: { name: string }) => `${p.owner}${c ? `/${c.name}` : ""}`;
  for (const k of ["hostNetwork", "hostPID", "hostIPC"]) if (s[k]) out.push(`${where()}: ${k}`);
  for (const v of s.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== "name");
    if (!type || !ALLOWED_VOLUMES.includes(type)) out.push(`${where()}: volume ${v.name} of type ${type}`);
  }
  if (psc.runAsUser === 0) out.push(`${where()}: runAsUser 0`);
  for (const c of [...(s.initContainers ?? []), ...(s.containers ?? [])]) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) out.push(`${where(c)}: allowPrivilegeEscalation is not false`);
    if (sc.privileged) out.push(`${where(c)}: privileged`);
    if (sc.readOnlyRootFilesystem !== true) out.push(`${where(c)}: root filesystem not read-only`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) out.push(`${where(c)}: capabilities not dropped (drop: ALL)`);
    if ((sc.capabilities?.add ?? []).some((cap: string) => cap !== "NET_BIND_SERVICE")) out.push(`${where(c)}: adds capabilities ${sc.capabilities.add}`);
    if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) out.push(`${where(c)}: runAsNonRoot not set`);
    if ((sc.runAsUser ?? psc.runAsUser) === 0) out.push(`${where(c)}: runs as root`);
    if ((sc.seccompProfile?.type ?? psc.seccompProfile?.type) !== "RuntimeDefault") out.push(`${where(c)}: seccomp profile is not RuntimeDefault`);
    for (const port of c.ports ?? []) if (port.hostPort) out.push(`${where(c)}: hostPort ${port.hostPort}`);
    for (const kind of ["requests", "limits"]) for (const r of ["cpu", "memory"]) if (!c.resources?.[kind]?.[r]) out.push(`${where(c)}: no ${kind}.${r}`);
    if (!/:[\w.-]+$|@sha256:/.test(c.image) || c.image.endsWith(":latest")) out.push(`${where(c)}: image ${c.image} has no pinned tag`);
    if (LONG_RUNNING.includes(p.kind) && (s.containers ?? []).includes(c)) {
      if (!c.livenessProbe) out.push(`${where(c)}: no liveness probe`);
      if (!c.readinessProbe) out.push(`${where(c)}: no readiness probe`);
    }
    for (const e of c.env ?? []) {
      if (/(KEY|TOKEN|SECRET|PASSWORD)/.test(e.name) && e.value !== undefined) out.push(`${where(c)}: ${e.name} written into the manifest`);
    }
  }
  return out;
}

/** True when the policy's podSelector selects pods with these labels. */
const selects = (selector: { matchLabels?: Record<string, string> } | undefined, labels: Record<string, string>) =>
  Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

function networkProblems(objs: Obj[]): string[] {
  const out: string[] = [];
  const policies = objs.filter((o) => o.kind === "NetworkPolicy");
  for (const p of pods(objs)) {
    const mine = policies.filter((np) => np.metadata.namespace === p.namespace);
    const denyAll = mine.find(
      (np) => Object.keys(np.spec.podSelector ?? {}).length === 0 && ["Ingress", "Egress"].every((t) => np.spec.policyTypes?.includes(t)) && !np.spec.ingress && !np.spec.egress,
    );
    if (!denyAll) out.push(`${p.owner} (namespace ${p.namespace}) is selected by no default-deny policy`);
  }
  for (const np of policies) {
    const selected = pods(objs).filter((p) => p.namespace === np.metadata.namespace && selects(np.spec.podSelector, p.labels));
    // A default deny (empty selector) also covers pods made later, like task pods.
    if (!selected.length && Object.keys(np.spec.podSelector ?? {}).length) out.push(`NetworkPolicy/${np.metadata.name} selects no pod: a label is wrong`);
    for (const rule of np.spec.ingress ?? []) if (!rule.from?.length) out.push(`NetworkPolicy/${np.metadata.name} lets anyone in`);
    for (const rule of np.spec.egress ?? []) {
      if (!rule.to?.length) out.push(`NetworkPolicy/${np.metadata.name} lets out to anywhere`);
      if (!rule.ports?.length) out.push(`NetworkPolicy/${np.metadata.name} lets out on every port`);
      for (const to of rule.to ?? []) {
        if (to.ipBlock && !(to.ipBlock.except ?? []).includes("169.254.0.0/16"))
          out.push(`NetworkPolicy/${np.metadata.name} may reach cloud metadata (169.254.0.0/16 not excepted)`);
      }
    }
  }
  return out;
}

function rbacProblems(objs: Obj[]): string[] {
  const out: string[] = [];
  for (const o of objs) if (o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding") out.push(`${o.kind}/${o.metadata.name}: nothing here is cluster-wide`);
  const roles = objs.filter((o) => o.kind === "Role");
  const bindings = objs.filter((o) => o.kind === "RoleBinding");
  for (const b of bindings) {
    const role = roles.find((r) => r.metadata.name === b.roleRef.name && r.metadata.namespace === b.metadata.namespace);
    if (b.roleRef.kind !== "Role" || !role) out.push(`RoleBinding/${b.metadata.name} binds ${b.roleRef.kind}/${b.roleRef.name}, not a Role beside it`);
    for (const subject of b.subjects ?? []) {
      if (!(subject.kind === "ServiceAccount" && subject.name === "bakerst-core" && subject.namespace === "bakerst"))
        out.push(`RoleBinding/${b.metadata.name} grants ${subject.kind}/${subject.name}`);
    }
    if (b.metadata.namespace !== "bakerst-tasks") out.push(`RoleBinding/${b.metadata.name} is in ${b.metadata.namespace}, not the task namespace`);
  }
  for (const r of roles) {
    for (const rule of r.rules ?? []) {
      const extra = [
        ...rule.apiGroups.filter((g: string) => g !== "batch"),
        ...rule.resources.filter((x: string) => x !== "jobs"),
        ...rule.verbs.filter((v: string) => !["create", "get", "list", "watch", "delete"].includes(v)),
      ];
      if (extra.length) out.push(`Role/${r.metadata.name} grants ${extra.join(", ")}`);
    }
  }
  const granted = new Set(bindings.flatMap((b) => (b.subjects ?? []).map((s: { name: string }) => s.name)));
  for (const p of pods(objs)) {
    const sa = objs.find((o) => o.kind === "ServiceAccount" && o.metadata.name === (p.spec.serviceAccountName ?? "default") && o.metadata.namespace === p.namespace);
    const automount = p.spec.automountServiceAccountToken ?? sa?.automountServiceAccountToken ?? true;
    if (!p.spec.serviceAccountName) out.push(`${p.owner} runs as the namespace's default service account`);
    if (automount && !granted.has(p.spec.serviceAccountName)) out.push(`${p.owner} mounts a token it has no use for`);
  }
  return out;
}

describe.each(TARGETS.map((t) => [relative(deploy, t), t]))("deploy/%s", (_name, dir) => {
  const objs = render(dir);

  test("renders, with every pod in a namespace that enforces the restricted Pod Security Standard", () => {
    expect(objs.length).toBeGreaterThan(10);
    const namespaces = objs.filter((o) => o.kind === "Namespace");
    for (const ns of new Set(pods(objs).map((p) => p.namespace))) {
      const n = namespaces.find((x) => x.metadata.name === ns);
      expect({ ns, enforce: n?.metadata.labels?.["pod-security.kubernetes.io/enforce"] }).toEqual({ ns, enforce: "restricted" });
    }
  });

  test("every container: non-root, read-only root, no privilege escalation, drop ALL, seccomp RuntimeDefault, requests and limits, pinned image; long-running ones have probes", () => {
    expect(pods(objs).length).toBeGreaterThan(1);
    expect(pods(objs).flatMap(podProblems)).toEqual([]);
  });

  test("every pod is selected by a default deny, and every allow is narrow (a source, a destination, ports, never cloud metadata)", () => {
    expect(networkProblems(objs)).toEqual([]);
  });

  test("RBAC: the core may manage Jobs in the task namespace and nothing else; no other pod holds a token", () => {
    expect(rbacProblems(objs)).toEqual([]);
  });

  test("no secret is written into the manifests, and the ingress serves HTTPS only", () => {
    expect(objs.filter((o) => o.kind === "Secret").map((o) => o.metadata.name)).toEqual([]);
    for (const ing of objs.filter((o) => o.kind === "Ingress")) {
      const hosts = ing.spec.rules.map((r: { host: string }) => r.host);
      expect(ing.spec.tls.flatMap((t: { hosts: string[] }) => t.hosts)).toEqual(hosts);
      expect(ing.metadata.annotations?.["traefik.ingress.kubernetes.io/router.entrypoints"]).toBe("websecure");
    }
  });
});

describe("What the checks catch", () => {
  const pod = (container: Record<string, unknown>, spec: Record<string, unknown> = {}): PodOf => ({
    owner: "Deployment/x",
    kind: "Deployment",
    namespace: "bakerst",
    labels: {},
    spec: { securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }, containers: [{ name: "c", image: "i:1", ...container }], ...spec },
  });
  const good = {
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
    resources: { requests: { cpu: "1", memory: "1" }, limits: { cpu: "1", memory: "1" } },
    livenessProbe: {},
    readinessProbe: {},
  };

  test("a compliant pod passes", () => expect(podProblems(pod(good))).toEqual([]));

  test("each way a pod breaks the standard is named", () => {
    expect(podProblems(pod({ ...good, securityContext: { ...good.securityContext, allowPrivilegeEscalation: true } }))).toEqual([
      "Deployment/x/c: allowPrivilegeEscalation is not false",
    ]);
    expect(podProblems(pod({ ...good, securityContext: { ...good.securityContext, readOnlyRootFilesystem: false } }))).toEqual(["Deployment/x/c: root filesystem not read-only"]);
    expect(podProblems(pod({ ...good, securityContext: { ...good.securityContext, capabilities: { drop: ["NET_RAW"], add: ["SYS_ADMIN"] } } }))).toEqual([
      "Deployment/x/c: capabilities not dropped (drop: ALL)",
      "Deployment/x/c: adds capabilities SYS_ADMIN",
    ]);
    expect(podProblems(pod(good, { securityContext: {} }))).toEqual(["Deployment/x/c: runAsNonRoot not set", "Deployment/x/c: seccomp profile is not RuntimeDefault"]);
    expect(podProblems(pod(good, { hostNetwork: true, volumes: [{ name: "h", hostPath: { path: "/" } }] }))).toEqual([
      "Deployment/x: hostNetwork",
      "Deployment/x: volume h of type hostPath",
    ]);
    expect(podProblems(pod({ ...good, resources: { requests: { cpu: "1" } }, image: "i:latest", livenessProbe: undefined }))).toEqual([
      "Deployment/x/c: no requests.memory",
      "Deployment/x/c: no limits.cpu",
      "Deployment/x/c: no limits.memory",
      "Deployment/x/c: image i:latest has no pinned tag",
      "Deployment/x/c: no liveness probe",
    ]);
    expect(podProblems(pod({ ...good, env: [{ name: "ANTHROPIC_API_KEY", value: "sk-ant-123" }] }))).toEqual(["Deployment/x/c: ANTHROPIC_API_KEY written into the manifest"]);
  });

  test("a namespace without a default deny, an open allow, a cluster-wide role and a broader role are named", () => {
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "x", namespace: "bakerst" },
      spec: { template: { metadata: { labels: {} }, spec: { serviceAccountName: "bakerst-core", containers: [] } } },
    };
    const open = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "open", namespace: "bakerst" },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [{}], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }] },
    };
    const stray = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "stray", namespace: "bakerst" },
      spec: { podSelector: { matchLabels: { app: "gone" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }] }] },
    };
    expect(networkProblems([deployment, open, stray] as Obj[])).toEqual([
      "Deployment/x (namespace bakerst) is selected by no default-deny policy",
      "NetworkPolicy/open lets anyone in",
      "NetworkPolicy/open lets out on every port",
      "NetworkPolicy/open may reach cloud metadata (169.254.0.0/16 not excepted)",
      "NetworkPolicy/stray selects no pod: a label is wrong",
    ]);
    const clusterRole = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "all" } };
    const role = {
      kind: "Role",
      metadata: { name: "r", namespace: "bakerst-tasks" },
      rules: [{ apiGroups: ["batch", ""], resources: ["jobs", "secrets"], verbs: ["create", "*"] }],
    };
    const binding = {
      kind: "RoleBinding",
      metadata: { name: "b", namespace: "bakerst-tasks" },
      roleRef: { kind: "Role", name: "r" },
      subjects: [{ kind: "ServiceAccount", name: "bakerst-core", namespace: "bakerst" }],
    };
    expect(rbacProblems([clusterRole, role, binding] as Obj[])).toEqual(["ClusterRole/all: nothing here is cluster-wide", "Role/r grants , secrets, *"]);
  });
});
