import type { CommandGrammarsSpec } from "../../core/protocol/index.ts";
import type { SandboxSetup } from "../sandbox/index.ts";
import { compileGrammars, selectPrograms } from "./commands/index.ts";
import { type CommandPolicy, MAX_OUTPUT_BYTES } from "./executors/command.ts";
import { type HttpPolicy, MAX_RESPONSE_BYTES, parseHostRules } from "./executors/http.ts";

/** Settings both hosts of the worker (satellite, edge core) turn into executor policies. */
export interface PolicySettings {
  commandAllowlist?: string;
  /** The owner's grammars (`commands:` in the config file, COMMAND_GRAMMARS_FILE on a satellite), over the defaults. */
  commandGrammars?: CommandGrammarsSpec;
  commandTimeoutMs: number;
  /** Whether commands run sandboxed, and the sandbox if it works here. */
  sandbox: SandboxSetup;
  httpAllow: string[];
  httpDeny: string[];
  httpTimeoutMs: number;
  /** Variables commands may receive as they are, by their profile (e.g. for in-cluster kubectl). */
  passEnv?: Record<string, string>;
}

/** Throws a GrammarError (a path inside the grammars) or an Error whose message starts with the bad key. */
export function buildPolicies(s: PolicySettings): { command: CommandPolicy; http: HttpPolicy } {
  return {
    command: {
      programs: selectPrograms(s.commandAllowlist, compileGrammars(s.commandGrammars)),
      timeoutMs: s.commandTimeoutMs,
      maxOutputBytes: MAX_OUTPUT_BYTES,
      passEnv: s.passEnv ?? {},
      sandbox: s.sandbox,
    },
    http: {
      allow: parseHostRules("HTTP_JOB_ALLOW", s.httpAllow),
      deny: parseHostRules("HTTP_JOB_DENY", s.httpDeny),
      timeoutMs: s.httpTimeoutMs,
      maxResponseBytes: MAX_RESPONSE_BYTES,
    },
  };
}

/** Kubernetes in-cluster discovery and the time zone: what a satellite may pass on, nothing secret. */
export function kubernetesEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBECONFIG", "TZ"]) {
    const v = env[k];
    if (v) out[k] = v;
  }
  return out;
}
