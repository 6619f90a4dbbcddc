/**
 * What the core may do in the task namespace, asked of the API server itself
 * (SelfSubjectAccessReview): exactly what tasks need (create and delete Jobs,
 * watch their pods, read their logs), and nothing that would let a stolen
 * core token do more there (create pods, read secrets).
 */
import { AuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Check } from "../../cli/check.ts";

interface Access {
  verb: string;
  resource: string;
  group?: string;
  subresource?: string;
}

export const NEEDED: Access[] = [
  { verb: "create", resource: "jobs", group: "batch" },
  { verb: "delete", resource: "jobs", group: "batch" },
  { verb: "list", resource: "pods" },
  { verb: "watch", resource: "pods" },
  { verb: "get", resource: "pods", subresource: "log" },
];
export const TOO_MUCH: Access[] = [
  { verb: "create", resource: "pods" },
  { verb: "get", resource: "secrets" },
  { verb: "create", resource: "rolebindings", group: "rbac.authorization.k8s.io" },
];

const text = (a: Access) => `${a.verb} ${a.group ? `${a.group}/` : ""}${a.resource}${a.subresource ? `/${a.subresource}` : ""}`;

export async function rbacChecks(kc: KubeConfig, namespace: string): Promise<Check[]> {
  const api = kc.makeApiClient(AuthorizationV1Api);
  const ask = async (a: Access) => {
    const r = await api.createSelfSubjectAccessReview({
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: {
          resourceAttributes: { namespace, verb: a.verb, resource: a.resource, ...(a.group ? { group: a.group } : {}), ...(a.subresource ? { subresource: a.subresource } : {}) },
        },
      },
    });
    return r.status?.allowed === true;
  };
  try {
    const missing = [];
    for (const a of NEEDED) if (!(await ask(a))) missing.push(text(a));
    const extra = [];
    for (const a of TOO_MUCH) if (await ask(a)) extra.push(text(a));
    const fix = "apply deploy/tasks/rbac.yaml (a Role with exactly what tasks need, bound to the core's service account)";
    return [
      missing.length
        ? { ok: false, name: "task rbac", detail: `in namespace ${namespace} the core may not ${missing.join(", ")}`, fix }
        : { ok: true, name: "task rbac", detail: `in namespace ${namespace} the core may ${NEEDED.map(text).join(", ")}` },
      ...(extra.length ? [{ ok: false, name: "task rbac", detail: `in namespace ${namespace} the core may also ${extra.join(", ")}, which tasks never need`, fix }] : []),
    ];
  } catch (err) {
    return [
      {
        ok: false,
        name: "task rbac",
        detail: `cannot ask the API server (${kc.getCurrentCluster()?.server}): ${(err as Error).message}`,
        fix: "check TASK_KUBECONFIG and that the API server is reachable",
      },
    ];
  }
}
