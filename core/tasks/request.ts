import { type Static, Type } from "@sinclair/typebox";
import { AppError } from "../errors.ts";
import { EgressRuleError, parseAllowlist } from "../jobs/edge.ts";
import {
  check,
  MAX_NETWORK_HOSTS,
  MAX_PROMPT_CHARS,
  MAX_SCRIPT_CHARS,
  MAX_TASK_MOUNTS,
  MAX_TASK_TIMEOUT_MS,
  NetworkHost,
  type TaskMode,
  type TaskNetworkSpec,
  type TaskTarget,
} from "../protocol/index.ts";

const Mount = Type.Union([
  Type.String({ minLength: 1, maxLength: 1024 }),
  Type.Object({ path: Type.String({ minLength: 1, maxLength: 1024 }), writable: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
]);

/** `POST /api/tasks`, the `run_task` tool and `bakerst task run`: one shape. */
export const TaskRequest = Type.Object(
  {
    mode: Type.Union([Type.Literal("script"), Type.Literal("agent")]),
    script: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_SCRIPT_CHARS })),
    goal: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_PROMPT_CHARS })),
    /** Host paths, read-only unless `{ path, writable: true }`. */
    mounts: Type.Optional(Type.Array(Mount, { maxItems: MAX_TASK_MOUNTS })),
    /** "none" (the default) or the hosts it may reach: `api.example.com`, `*.debian.org`, `host:8443`. */
    network: Type.Optional(Type.Union([Type.Literal("none"), Type.Array(NetworkHost, { minItems: 1, maxItems: MAX_NETWORK_HOSTS })])),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: MAX_TASK_TIMEOUT_MS })),
    /** `local`, `kubernetes` or a companion's id. */
    target: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_-]{1,128}$" })),
    toolbox: Type.Optional(Type.String({ pattern: "^[a-z0-9][a-z0-9-]{0,62}$" })),
    tokenBudget: Type.Optional(Type.Integer({ minimum: 256, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);
export type TaskRequest = Static<typeof TaskRequest>;

export interface ParsedTaskRequest {
  mode: TaskMode;
  script?: string;
  goal?: string;
  mounts: { path: string; writable: boolean }[];
  network: TaskNetworkSpec;
  timeoutMs?: number;
  target?: TaskTarget;
  toolbox?: string;
  tokenBudget?: number;
}

const invalid = (message: string) => new AppError("invalid_task", message);

/** Checks an untrusted request's shape; mounts, toolbox and target are checked against the config by the service. */
export function parseTaskRequest(raw: unknown): ParsedTaskRequest {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw invalid('body: expected a JSON object with mode "script" or "agent"');
  const r = check(TaskRequest, raw);
  if (!r.ok) throw invalid(r.reason.replace(/^\//, "").replaceAll("/", "."));
  const b = r.value;
  if (b.mode === "script" && (b.script === undefined || b.goal !== undefined)) throw invalid('script: a script task needs "script" (and no "goal")');
  if (b.mode === "agent" && (b.goal === undefined || b.script !== undefined)) throw invalid('goal: an agent task needs "goal" (and no "script")');
  if (b.mode === "script" && b.tokenBudget !== undefined) throw invalid("tokenBudget: only agent tasks spend tokens");
  if (b.script !== undefined && !b.script.trim()) throw invalid("script: must not be blank");
  if (b.goal !== undefined && !b.goal.trim()) throw invalid("goal: must not be blank");
  let network: TaskNetworkSpec = "none";
  if (b.network && b.network !== "none") {
    try {
      network = { allow: [...new Set(parseAllowlist(b.network).map(canonical))] };
    } catch (err) {
      if (err instanceof EgressRuleError) throw invalid(`network: ${err.message}`);
      throw err;
    }
  }
  return {
    mode: b.mode,
    ...(b.script !== undefined ? { script: b.script } : {}),
    ...(b.goal !== undefined ? { goal: b.goal } : {}),
    mounts: (b.mounts ?? []).map((m) => (typeof m === "string" ? { path: m, writable: false } : { path: m.path, writable: m.writable === true })),
    network,
    ...(b.timeoutMs !== undefined ? { timeoutMs: b.timeoutMs } : {}),
    ...(b.target ? { target: b.target } : {}),
    ...(b.toolbox ? { toolbox: b.toolbox } : {}),
    ...(b.tokenBudget !== undefined ? { tokenBudget: b.tokenBudget } : {}),
  };
}

/** An allowlist entry as the proxy reads it: `host` for 80 and 443, `host:port` for one port. */
function canonical(e: { host: string; ports: number[] }): string {
  const host = e.host.includes(":") ? `[${e.host}]` : e.host;
  return e.ports.length === 1 ? `${host}:${e.ports[0]}` : host;
}
