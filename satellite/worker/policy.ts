import { DEFAULT_COMMAND_ALLOWLIST, MAX_OUTPUT_BYTES, parseAllowlist, type CommandPolicy } from "./executors/command.ts";
import { MAX_RESPONSE_BYTES, parseHostRules, type HttpPolicy } from "./executors/http.ts";

/** Settings both hosts of the worker (satellite, edge core) turn into executor policies. */
export interface PolicySettings {
  commandAllowlist?: string;
  commandTimeoutMs: number;
  httpAllow: string[];
  httpDeny: string[];
  httpTimeoutMs: number;
  /** Variables passed to commands as they are (e.g. for in-cluster kubectl). */
  passEnv?: Record<string, string>;
}

export function buildPolicies(s: PolicySettings): { command: CommandPolicy; http: HttpPolicy } {
  return {
    command: {
      allow: parseAllowlist(s.commandAllowlist ?? DEFAULT_COMMAND_ALLOWLIST),
      timeoutMs: s.commandTimeoutMs,
      maxOutputBytes: MAX_OUTPUT_BYTES,
      passEnv: s.passEnv ?? {},
    },
    http: {
      allow: parseHostRules("HTTP_JOB_ALLOW", s.httpAllow),
      deny: parseHostRules("HTTP_JOB_DENY", s.httpDeny),
      timeoutMs: s.httpTimeoutMs,
      maxResponseBytes: MAX_RESPONSE_BYTES,
    },
  };
}

/** Kubernetes in-cluster discovery: kubectl inside a pod needs these and nothing secret. */
export function kubernetesEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBECONFIG", "TZ"]) {
    const v = env[k];
    if (v) out[k] = v;
  }
  return out;
}
