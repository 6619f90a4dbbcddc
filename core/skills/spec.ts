/**
 * What a skill is and what it may do, in one shape for every way one arrives
 * (the API, propose_skill, an upload, the data dir, a registry result). The
 * hash covers exactly what would run: the instructions, the command and its
 * arguments, the package, env values and names, secret names, network, paths,
 * limits and the URL. The owner's approval pins that hash.
 */
import { createHash } from "node:crypto";
import { type Static, Type } from "@sinclair/typebox";
import { AppError } from "../errors.ts";
import { EgressRuleError, parseAllowlist } from "../jobs/edge.ts";
import { check, NetworkHost } from "../protocol/index.ts";

/** A skill's name is its tools' namespace: `<name>__<tool>` must fit the providers' 64 characters. */
export const SkillName = Type.String({ pattern: "^[a-z][a-z0-9-]{0,23}$" });
const EnvName = "^[A-Z_][A-Z0-9_]{0,63}$";
/** As the secrets store names them. */
const SecretName = Type.String({ pattern: "^[A-Z][A-Z0-9_]{0,63}$" });
const AbsolutePath = Type.String({ pattern: "^/[^\\x00-\\x1f]{0,1023}$" });
export const MAX_INSTRUCTIONS_CHARS = 64_000;

export const SkillPath = Type.Object({ path: AbsolutePath, writable: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

export const SkillSpec = Type.Object(
  {
    name: SkillName,
    description: Type.String({ minLength: 1, maxLength: 1024 }),
    /** 0: instructions; 1: a stdio MCP server in the sandbox; 2: an MCP server over HTTP. */
    tier: Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)]),
    /** Tier 0: the SKILL.md body, read by load_skill. */
    instructions: Type.Optional(Type.String({ maxLength: MAX_INSTRUCTIONS_CHARS })),
    /** Tier 1: the program (an absolute path inside the sandbox) and its arguments. */
    command: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: 64 })),
    /** Where the program comes from, when it is a published package (shown at approval). */
    package: Type.Optional(
      Type.Object(
        { registry: Type.String({ pattern: "^[a-z0-9-]{1,32}$" }), name: Type.String({ minLength: 1, maxLength: 214 }), version: Type.String({ minLength: 1, maxLength: 64 }) },
        { additionalProperties: false },
      ),
    ),
    /** Plain environment values (never secrets: those go by name in `secrets`). */
    env: Type.Optional(Type.Record(Type.String({ pattern: EnvName }), Type.String({ maxLength: 4096 }), { maxProperties: 64 })),
    /** Secrets by name, injected as environment variables of the same name (tier 1). */
    secrets: Type.Optional(Type.Array(SecretName, { maxItems: 32 })),
    /** Tier 1: "none" (the default) or hosts through the egress proxy. */
    network: Type.Optional(Type.Union([Type.Literal("none"), Type.Array(NetworkHost, { minItems: 1, maxItems: 64 })])),
    /** Tier 1: host paths bound at the same place, read-only unless writable; each under SKILL_ALLOWED_PATHS. */
    paths: Type.Optional(Type.Array(SkillPath, { maxItems: 16 })),
    /** Longest one tool call may take. */
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
    /** Largest single message the server may send; past it the server is stopped. */
    outputMaxBytes: Type.Optional(Type.Integer({ minimum: 4096, maximum: 64 * 1024 * 1024 })),
    /** Tier 1: start with bakerst instead of on first use. */
    startAtBoot: Type.Optional(Type.Boolean()),
    /** Tier 2: the server's URL, and which transport (auto: Streamable HTTP, then the older SSE). */
    url: Type.Optional(Type.String({ pattern: "^https?://", maxLength: 2048 })),
    transport: Type.Optional(Type.Union([Type.Literal("auto"), Type.Literal("streamable-http"), Type.Literal("sse")])),
    /** Tier 2: plain headers, and headers whose value is a secret (`Authorization: "Bearer {secret}"` by `bearerSecret`). */
    headers: Type.Optional(Type.Record(Type.String({ pattern: "^[A-Za-z0-9-]{1,64}$" }), Type.String({ maxLength: 4096 }), { maxProperties: 32 })),
    headerSecrets: Type.Optional(Type.Record(Type.String({ pattern: "^[A-Za-z0-9-]{1,64}$" }), SecretName, { maxProperties: 16 })),
    bearerSecret: Type.Optional(SecretName),
  },
  { additionalProperties: false },
);
export type SkillSpec = Static<typeof SkillSpec>;

const invalid = (message: string) => new AppError("invalid_skill", message);

/** Checks an untrusted spec; each refusal names the field. */
export function parseSkillSpec(raw: unknown): SkillSpec {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw invalid("body: expected a JSON object with name, description and tier");
  const r = check(SkillSpec, raw);
  if (!r.ok) throw invalid(r.reason.replace(/^\//, "").replaceAll("/", "."));
  const s = r.value;
  const only = (tier: number, fields: (keyof SkillSpec)[]) => {
    for (const f of fields) if (s[f] !== undefined && s.tier !== tier) throw invalid(`${f}: only a tier ${tier} skill has ${f}`);
  };
  only(0, ["instructions"]);
  only(1, ["command", "network", "paths", "startAtBoot", "package", "env"]);
  only(2, ["url", "transport", "headers", "headerSecrets", "bearerSecret"]);
  if (s.tier === 0 && !s.instructions?.trim()) throw invalid("instructions: a tier 0 skill needs its instructions (the SKILL.md body)");
  if (s.tier === 1) {
    if (!s.command) throw invalid("command: a tier 1 skill needs its command: the program (an absolute path) and its arguments");
    if (!s.command[0]!.startsWith("/")) throw invalid("command.0: the program must be an absolute path (what the sandbox runs, nothing looked up)");
    if (s.command.some((a) => a.includes("\0"))) throw invalid("command: no NUL characters");
    if (s.network && s.network !== "none") {
      try {
        parseAllowlist(s.network);
      } catch (err) {
        if (err instanceof EgressRuleError) throw invalid(`network: ${err.message}`);
        throw err;
      }
    }
    for (const p of s.paths ?? [])
      if (p.path.split("/").some((seg) => seg === ".." || seg === ".")) throw invalid(`paths: ${JSON.stringify(p.path.slice(0, 200))} has "." or ".." segments`);
  }
  if (s.tier === 2) {
    if (!s.url) throw invalid("url: a tier 2 skill needs the server's URL");
    if (s.secrets?.length) throw invalid("secrets: a tier 2 skill gets secrets in headers (bearerSecret, headerSecrets), not as environment");
  }
  if (s.tier !== 1 && s.secrets?.length) throw invalid("secrets: only a tier 1 skill gets secrets as environment");
  for (const name of Object.keys(s.env ?? {})) {
    if (s.secrets?.includes(name)) throw invalid(`env.${name}: also a secret's name`);
  }
  return s;
}

/** JSON with keys sorted at every level, so the hash depends on content only. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

export function specHash(spec: SkillSpec): string {
  return createHash("sha256").update(canonical(spec)).digest("hex");
}

/** What approving a skill lets run, in the words the console and the CLI show. */
export interface WouldRun {
  tier: 0 | 1 | 2;
  instructionsChars?: number;
  command?: string[];
  package?: { registry: string; name: string; version: string };
  env?: string[];
  secrets?: string[];
  network: "none" | string[];
  paths: { path: string; writable: boolean }[];
  url?: string;
  headers?: string[];
  hash: string;
}

export function wouldRun(spec: SkillSpec): WouldRun {
  return {
    tier: spec.tier,
    ...(spec.instructions !== undefined ? { instructionsChars: spec.instructions.length } : {}),
    ...(spec.command ? { command: spec.command } : {}),
    ...(spec.package ? { package: spec.package } : {}),
    ...(spec.env ? { env: Object.keys(spec.env) } : {}),
    ...(spec.secrets?.length ? { secrets: spec.secrets } : {}),
    network: spec.tier === 2 ? [new URL(spec.url!).host] : (spec.network ?? "none"),
    paths: (spec.paths ?? []).map((p) => ({ path: p.path, writable: p.writable === true })),
    ...(spec.url ? { url: spec.url } : {}),
    ...(spec.headers || spec.headerSecrets || spec.bearerSecret
      ? { headers: [...Object.keys(spec.headers ?? {}), ...Object.keys(spec.headerSecrets ?? {}), ...(spec.bearerSecret ? ["Authorization"] : [])] }
      : {}),
    hash: specHash(spec),
  };
}
