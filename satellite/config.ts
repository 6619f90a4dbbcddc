/**
 * The satellite's settings: environment first, flags over it, validated once
 * with a message naming the bad key. It cannot use core/config (satellite/
 * imports only core/protocol from core), so it has its own small table.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { Value } from "@sinclair/typebox/value";
import { CommandGrammarsSpec } from "../core/protocol/grammar.ts";

export const MODES = ["worker", "task", "companion", "bridge"] as const;
export type Mode = (typeof MODES)[number];

export class SatelliteConfigError extends Error {
  override name = "SatelliteConfigError";
  constructor(key: string, expected: string, got?: string) {
    super(`${key} must be ${expected}${got !== undefined ? `, got ${JSON.stringify(got.length > 80 ? `${got.slice(0, 80)}...` : got)}` : ""}`);
  }

  /** A problem inside the file a key names: `COMMAND_GRAMMARS_FILE: /etc/g.json: date.options.0.value: ...`. */
  static inFile(key: string, file: string, where: string, problem: string): SatelliteConfigError {
    const err = new SatelliteConfigError(key, "");
    err.message = `${key}: ${file}: ${where ? `${where}: ` : ""}${problem}`;
    return err;
  }
}

export const SATELLITE_KEYS = {
  NATS_URL: "NATS server (required), e.g. nats://nats:4222 (--nats-url)",
  NATS_CREDS: "this worker's NATS identity: the nkey seed file from bakerst nats init (creds/worker.nk) or a .creds file",
  WORKER_ID: "this worker's id in heartbeats and statuses (--id); default host name + random suffix",
  WORKER_CONCURRENCY: "jobs run at once (--concurrency), 1-256, default 4",
  HEARTBEAT_INTERVAL_MS: "heartbeat period, default 30000",
  DRAIN_TIMEOUT_MS: "how long SIGTERM waits for running jobs, default 25000",
  COMMAND_ALLOWLIST: "programs command jobs may run: uptime,df,kubectl:get|describe (default: every program with a grammar)",
  COMMAND_GRAMMARS_FILE: "JSON or YAML file of further command grammars, shaped like the core's commands: section",
  COMMAND_SANDBOX: "required (default: commands run in the bubblewrap sandbox, refused where it cannot work) or off",
  COMMAND_TIMEOUT_MS: "default command timeout, default 30000",
  HTTP_JOB_ALLOW: "hosts/CIDRs http jobs may reach (unset: any but metadata and HTTP_JOB_DENY)",
  HTTP_JOB_DENY: "hosts/CIDRs http jobs may not reach",
  HTTP_JOB_TIMEOUT_MS: "default http job timeout, default 30000",
  SECRETS_TO_REDACT: "names of further environment variables whose values are redacted from job output",
  ANTHROPIC_API_KEY: "Anthropic key for agent jobs on this worker",
  ANTHROPIC_OAUTH_TOKEN: "Anthropic OAuth token (instead of a key)",
  ANTHROPIC_BASE_URL: "Anthropic API base URL",
  OPENAI_BASE_URL: "OpenAI-compatible server for agent jobs (Ollama, vLLM, llama.cpp, OpenRouter), with MODEL_WORKER=openai:<model>",
  OPENAI_API_KEY: "key for that server, if it wants one",
  MODEL_WORKER: "model for agent jobs: anthropic:<model> or openai:<model> (default anthropic:claude-haiku-5-5)",
  LOG_LEVEL: "debug, info, warn, error or silent (default info)",
  OTEL_EXPORTER_OTLP_ENDPOINT: "OpenTelemetry collector (OTLP/HTTP) for this worker's spans; unset: no tracing SDK is loaded",
  HEALTH_PORT: "port for GET /ping and GET /readyz (connected to NATS), for Kubernetes probes (0 picks one); unset: no listener",
  HEALTH_HOST: "address the health port listens on, default 0.0.0.0",
  COMPANION_ID: "companion mode: its id, the name it was paired under (bakerst companion add NAME)",
  CORE_PUBLIC_KEY: "companion mode: the core's nkey public key (U...); tasks signed by any other key are refused",
  COMPANION_STATE_DIR: "companion mode: where the spool (SQLite) lives, default /var/lib/bakerst-companion",
  COMPANION_SPOOL_MAX: "companion mode: reports kept while the core is unreachable before progress is dropped (results are always kept), default 100000",
  TASK_ALLOWED_PATHS: "companion mode: comma-separated host paths tasks may mount; a task asking for anything else is refused",
  TASK_SPEC: "task mode: the task as JSON (or --spec FILE, - for stdin); the core or the Kubernetes Job gives it",
  TASK_MODEL_SOCKET: "task mode: the host's model relay (a unix socket the local launcher binds in); unset, agent tasks use MODEL_WORKER",
  TASK_EGRESS_SOCKET: "task mode: the host's egress proxy (a unix socket the local launcher binds in) for a network allowlist",
  TASK_PROXY_URL: "task mode: an HTTP proxy that enforces the task's network allowlist, where there is no egress socket (Kubernetes)",
  TASK_KILL_GRACE_MS: "task mode: how long a cancelled or timed-out script has between SIGTERM and SIGKILL, default 2000",
  TASK_OUTPUT_MAX_BYTES: "task mode: output reported per task before the rest is dropped, default 8388608",
} as const;

export interface SatelliteConfig {
  mode: Mode;
  /** Bridge mode: the program (and its arguments) after `--`. */
  command: string[];
  natsUrl: string;
  natsCreds: string | undefined;
  workerId: string;
  concurrency: number;
  heartbeatMs: number;
  drainTimeoutMs: number;
  commandAllowlist: string | undefined;
  commandGrammars: CommandGrammarsSpec;
  commandGrammarsFile: string | undefined;
  commandSandbox: "required" | "off";
  commandTimeoutMs: number;
  httpAllow: string[];
  httpDeny: string[];
  httpTimeoutMs: number;
  redactValues: string[];
  /** The agent-job model: which provider, and that provider's settings. */
  model: { provider: "anthropic" | "openai"; name: string };
  anthropic: { apiKey: string | undefined; oauthToken: string | undefined; baseURL: string | undefined };
  openai: { baseURL: string | undefined; apiKey: string | undefined };
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  otelEndpoint: string | undefined;
  health: { port: number; host: string } | undefined;
  /** Task mode: where the spec comes from and what the launcher bound in. */
  task: {
    spec: { from: "env"; json: string } | { from: "file"; path: string } | undefined;
    modelSocket: string | undefined;
    egressSocket: string | undefined;
    proxyUrl: string | undefined;
    killGraceMs: number;
    outputMaxBytes: number;
  };
  /** Companion mode. */
  companion: {
    id: string | undefined;
    corePublicKey: string | undefined;
    stateDir: string;
    spoolMax: number;
    allowedPaths: string[];
  };
  help: boolean;
  version: boolean;
}

function int(key: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new SatelliteConfigError(key, `an integer from ${min} to ${max}`, raw);
  return n;
}

/** The owner's grammars from COMMAND_GRAMMARS_FILE, checked against the same schema as the core's `commands:` section. */
function grammarsFile(path: string | undefined): CommandGrammarsSpec {
  if (!path) return {};
  const key = "COMMAND_GRAMMARS_FILE";
  let data: unknown;
  try {
    const text = readFileSync(path, "utf8");
    data = path.endsWith(".json") ? JSON.parse(text) : Bun.YAML.parse(text);
  } catch (err) {
    throw SatelliteConfigError.inFile(key, path, "", `cannot be read as ${path.endsWith(".json") ? "JSON" : "YAML"} (${(err as Error).message})`);
  }
  if (Value.Check(CommandGrammarsSpec, data)) return data;
  const first = Value.Errors(CommandGrammarsSpec, data).First();
  const where =
    first?.path
      .split("/")
      .slice(1)
      .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"))
      .join(".") ?? "";
  throw SatelliteConfigError.inFile(key, path, where, first?.message.toLowerCase() ?? "not a map of grammars");
}

const list = (raw: string | undefined) =>
  (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)/i;

export function loadSatelliteConfig(argv: string[], env: Record<string, string | undefined>): SatelliteConfig {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      mode: { type: "string" },
      "nats-url": { type: "string" },
      concurrency: { type: "string" },
      id: { type: "string" },
      spec: { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
    strict: true,
    // Only bridge mode takes a program, after `--`.
    allowPositionals: argv.includes("--"),
  });
  const help = !!values.help;
  const version = !!values.version;
  const mode = values.mode ?? "";
  if (!help && !version && !(MODES as readonly string[]).includes(mode)) throw new SatelliteConfigError("--mode", `one of ${MODES.join(", ")}`, mode);
  if (mode === "bridge" && !help && !version && (!positionals.length || !positionals[0]!.startsWith("/")))
    throw new SatelliteConfigError("--", "the program to run (an absolute path) and its arguments after --", positionals.join(" "));
  if (mode !== "bridge" && positionals.length) throw new SatelliteConfigError("--", "a program only in bridge mode", positionals.join(" "));

  const natsUrl = values["nats-url"] ?? env.NATS_URL ?? "";
  // A task reports on stdout too (the launcher or the pod log reads it), so NATS is optional there.
  if (!help && !version && (mode === "worker" || mode === "companion" || natsUrl)) {
    let ok = false;
    try {
      ok = ["nats:", "tls:", "ws:", "wss:"].includes(new URL(natsUrl).protocol);
    } catch {
      // reported below
    }
    if (!ok) throw new SatelliteConfigError("NATS_URL", "a nats:// URL (set NATS_URL or --nats-url)", natsUrl);
  }
  const workerId =
    values.id ??
    env.WORKER_ID ??
    `${hostname()
      .replace(/[^A-Za-z0-9_-]/g, "-")
      .slice(0, 60)}-${crypto.randomUUID().slice(0, 8)}`;
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(workerId)) throw new SatelliteConfigError("WORKER_ID", 'letters, digits, "_" or "-" (1-128)', workerId);
  const companionId = values.id ?? env.COMPANION_ID;
  const corePublicKey = env.CORE_PUBLIC_KEY?.trim() || undefined;
  const allowedPaths = list(env.TASK_ALLOWED_PATHS);
  if (mode === "companion" && !help && !version) {
    if (!companionId || !/^[A-Za-z0-9_-]{1,128}$/.test(companionId))
      throw new SatelliteConfigError("COMPANION_ID", 'the name it was paired under: letters, digits, "_" or "-" (1-128)', companionId ?? "");
    if (!corePublicKey || !/^U[A-Z2-7]{55}$/.test(corePublicKey))
      throw new SatelliteConfigError("CORE_PUBLIC_KEY", "the core's nkey public key (U followed by 55 letters and digits), from the enrollment bundle", corePublicKey ?? "");
    if (!env.NATS_CREDS) throw new SatelliteConfigError("NATS_CREDS", "the companion's nkey seed file (from the enrollment bundle)", "");
    for (const p of allowedPaths)
      if (!p.startsWith("/") || p.split("/").some((s) => s === ".." || s === "."))
        throw new SatelliteConfigError("TASK_ALLOWED_PATHS", "absolute paths without . or .. segments", p);
  }
  const level = env.LOG_LEVEL ?? "info";
  if (!["debug", "info", "warn", "error", "silent"].includes(level)) throw new SatelliteConfigError("LOG_LEVEL", "debug, info, warn, error or silent", level);
  const modelRef = env.MODEL_WORKER?.split(",")[0]?.trim() || "anthropic:claude-haiku-5-5";
  const refMatch = /^(anthropic|openai):(.+)$/.exec(modelRef);
  if (!refMatch) throw new SatelliteConfigError("MODEL_WORKER", "anthropic:<model> or openai:<model>", modelRef);
  const provider = refMatch[1] as "anthropic" | "openai";
  if (provider === "openai" && !env.OPENAI_BASE_URL) {
    throw new SatelliteConfigError("OPENAI_BASE_URL", "the OpenAI-compatible server's URL (e.g. http://ollama:11434/v1) when MODEL_WORKER is openai:<model>", "");
  }
  for (const key of ["ANTHROPIC_BASE_URL", "OPENAI_BASE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"] as const) {
    const v = env[key];
    if (v && !URL.canParse(v)) throw new SatelliteConfigError(key, "a URL", v);
  }
  const sandboxMode = env.COMMAND_SANDBOX || "required";
  if (sandboxMode !== "required" && sandboxMode !== "off") throw new SatelliteConfigError("COMMAND_SANDBOX", "required or off", sandboxMode);
  const named = list(env.SECRETS_TO_REDACT).map((n) => env[n]);
  const auto = Object.entries(env).flatMap(([k, v]) => (SECRET_NAME.test(k) && v ? [v] : []));

  return {
    mode: mode as Mode,
    command: positionals,
    natsUrl,
    natsCreds: env.NATS_CREDS || undefined,
    workerId,
    concurrency: int("WORKER_CONCURRENCY", values.concurrency ?? env.WORKER_CONCURRENCY, 4, 1, 256),
    heartbeatMs: int("HEARTBEAT_INTERVAL_MS", env.HEARTBEAT_INTERVAL_MS, 30_000, 100, 600_000),
    drainTimeoutMs: int("DRAIN_TIMEOUT_MS", env.DRAIN_TIMEOUT_MS, 25_000, 0, 600_000),
    commandAllowlist: env.COMMAND_ALLOWLIST || undefined,
    commandGrammars: grammarsFile(env.COMMAND_GRAMMARS_FILE || undefined),
    commandGrammarsFile: env.COMMAND_GRAMMARS_FILE || undefined,
    commandSandbox: sandboxMode,
    commandTimeoutMs: int("COMMAND_TIMEOUT_MS", env.COMMAND_TIMEOUT_MS, 30_000, 100, 3_600_000),
    httpAllow: list(env.HTTP_JOB_ALLOW),
    httpDeny: list(env.HTTP_JOB_DENY),
    httpTimeoutMs: int("HTTP_JOB_TIMEOUT_MS", env.HTTP_JOB_TIMEOUT_MS, 30_000, 100, 3_600_000),
    redactValues: [...named, ...auto].filter((v): v is string => !!v),
    model: { provider, name: refMatch[2]! },
    anthropic: {
      apiKey: env.ANTHROPIC_API_KEY || undefined,
      oauthToken: env.ANTHROPIC_OAUTH_TOKEN || undefined,
      baseURL: env.ANTHROPIC_BASE_URL || undefined,
    },
    openai: { baseURL: env.OPENAI_BASE_URL || undefined, apiKey: env.OPENAI_API_KEY || undefined },
    logLevel: level as SatelliteConfig["logLevel"],
    otelEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
    health: env.HEALTH_PORT ? { port: int("HEALTH_PORT", env.HEALTH_PORT, 0, 0, 65535), host: env.HEALTH_HOST || "0.0.0.0" } : undefined,
    task: {
      spec: values.spec ? { from: "file", path: values.spec } : env.TASK_SPEC ? { from: "env", json: env.TASK_SPEC } : undefined,
      modelSocket: env.TASK_MODEL_SOCKET || undefined,
      egressSocket: env.TASK_EGRESS_SOCKET || undefined,
      proxyUrl: env.TASK_PROXY_URL || undefined,
      killGraceMs: int("TASK_KILL_GRACE_MS", env.TASK_KILL_GRACE_MS, 2_000, 0, 60_000),
      outputMaxBytes: int("TASK_OUTPUT_MAX_BYTES", env.TASK_OUTPUT_MAX_BYTES, 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    },
    companion: {
      id: companionId,
      corePublicKey,
      stateDir: env.COMPANION_STATE_DIR || "/var/lib/bakerst-companion",
      spoolMax: int("COMPANION_SPOOL_MAX", env.COMPANION_SPOOL_MAX, 100_000, 10, 10_000_000),
      allowedPaths,
    },
    help,
    version,
  };
}

export function satelliteHelp(version: string): string {
  const keys = Object.entries(SATELLITE_KEYS)
    .map(([k, h]) => `  ${k.padEnd(24)}${h}`)
    .join("\n");
  return `bakerst-satellite ${version}

Usage: bakerst-satellite --mode worker [--nats-url URL] [--concurrency N] [--id ID]
       bakerst-satellite --mode task [--spec FILE|-] [--nats-url URL]
       bakerst-satellite --mode companion [--id NAME] [--nats-url URL] [--concurrency N]
       bakerst-satellite --mode bridge -- PROGRAM [ARGS...]

Modes:
  worker    pull jobs (command, http, agent) from NATS JetStream and run them
  task      run one task (a script or an agent) and exit with its exit code: what runs
            inside the local sandbox and in a task pod; reports go to stdout as JSON
            lines, and to NATS too when NATS_URL is set
  companion a daemon on a NAS or VM: announces itself, beats, runs the tasks the core
            sends it (signed) inside TASK_ALLOWED_PATHS, and keeps every report in a
            local spool until the core has acknowledged it
  bridge    run PROGRAM inside the sandbox with its stdio as is and HTTP(S)_PROXY
            pointing at a local bridge to the host's egress proxy (TASK_EGRESS_SOCKET):
            how a stdio MCP skill with a network allowlist reaches its hosts

Flags:
  --mode MODE         role of this process (required)
  --nats-url URL      NATS server (or NATS_URL)
  --concurrency N     jobs run at once (or WORKER_CONCURRENCY)
  --id ID             worker id (or WORKER_ID)
  --spec FILE         task mode: read the task from FILE (- for stdin) instead of TASK_SPEC
  -h, --help          this text
  -v, --version       print the version

Environment:
${keys}

SIGTERM stops taking jobs, lets running ones finish (DRAIN_TIMEOUT_MS) and exits;
in task mode it stops the task, reports it cancelled and exits.
`;
}

/** The satellite's only look at the process environment: its settings, and the Kubernetes variables a command job may see. */
export function processEnv(): Record<string, string | undefined> {
  return process.env;
}
