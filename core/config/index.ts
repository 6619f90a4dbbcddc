import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { CommandGrammarsSpec } from "../protocol/grammar.ts";
import { FEATURE_PREFIX, KEYS, type Key } from "./keys.ts";
import { ConfigError, isKey, keySpec, parseValue, type Parsed } from "./parse.ts";

export { ConfigError } from "./parse.ts";
export { KEYS } from "./keys.ts";

export const ROLES = ["agent", "observer", "reflector", "worker"] as const;
export type Role = (typeof ROLES)[number];

export const PriceSchema = Type.Object(
  {
    input: Type.Number({ minimum: 0, description: "USD per million input tokens" }),
    output: Type.Number({ minimum: 0, description: "USD per million output tokens" }),
    cacheRead: Type.Optional(Type.Number({ minimum: 0 })),
    cacheWrite: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type Price = Static<typeof PriceSchema>;

const ModelRef = Type.String({ pattern: "^(anthropic|openai):.+$", description: "provider:model" });
export const ModelsFileSchema = Type.Object(
  {
    roles: Type.Optional(
      Type.Partial(
        Type.Object(Object.fromEntries(ROLES.map((r) => [r, Type.Array(ModelRef, { minItems: 1, maxItems: 8 })])), {
          additionalProperties: false,
        }),
      ),
    ),
    prices: Type.Optional(Type.Record(Type.String({ minLength: 1 }), PriceSchema)),
  },
  { additionalProperties: false },
);
export type ModelsFile = Static<typeof ModelsFileSchema>;

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  authToken: string | undefined;
  corsOrigins: string[];
  trustedProxies: string[];
  publicUrl: string | undefined;
  maxBodyBytes: number;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  nats: { url: string | undefined; credsFile: string | undefined };
  jobs: {
    ackWaitMs: number;
    waitTimeoutMs: number;
    deadlineGraceMs: number;
    workerConcurrency: number;
    edgeWorker: boolean;
    heartbeatMs: number;
    commandAllowlist: string | undefined;
    /** The owner's command grammars (`commands:` in the config file), over the defaults. */
    commandGrammars: CommandGrammarsSpec;
    commandSandbox: "required" | "off";
    commandTimeoutMs: number;
    httpAllow: string[];
    httpDeny: string[];
    httpTimeoutMs: number;
    /** Values never to show in job output: every configured secret and SECRETS_TO_REDACT. */
    redactValues: string[];
  };
  anthropic: { apiKey: string | undefined; oauthToken: string | undefined; baseURL: string | undefined };
  openai: { baseURL: string | undefined; apiKey: string | undefined };
  models: {
    /** Chains from config (env or file); empty where the role is left to defaults. */
    roles: Partial<Record<Role, string[]>>;
    prices: Record<string, Price>;
    maxRetries: number;
    timeoutMs: number;
    dailyBudgetUsd: number | undefined;
  };
  voyage: { apiKey: string | undefined; baseURL: string | undefined; model: string };
  embeddings: { baseURL: string | undefined; apiKey: string | undefined; model: string };
  qdrant: { url: string | undefined; apiKey: string | undefined; collection: string };
  memory: { promptTokens: number; observerThresholdChars: number; reflectorThresholdChars: number };
  telegram: { token: string | undefined; apiRoot: string | undefined };
  discord: { token: string | undefined; apiBase: string | undefined };
  taskAllowedPaths: string[];
  features: Record<string, boolean>;
  otelEndpoint: string | undefined;
  /** Which file, if any, the settings were read from. */
  file: string | undefined;
}

export interface LoadOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
}

const FILE_NAMES = ["bakerst.json", "bakerst.yaml", "bakerst.yml"];

function readFile(dataDir: string): { path: string; data: Record<string, unknown> } | undefined {
  for (const name of FILE_NAMES) {
    const path = join(dataDir, name);
    if (!existsSync(path)) continue;
    const text = readFileSync(path, "utf8");
    let data: unknown;
    try {
      data = name.endsWith(".json") ? JSON.parse(text) : Bun.YAML.parse(text);
    } catch (err) {
      throw new ConfigError(name, `valid ${name.endsWith(".json") ? "JSON" : "YAML"} (${(err as Error).message})`, path);
    }
    if (data === null || data === undefined) data = {};
    if (typeof data !== "object" || Array.isArray(data)) {
      throw new ConfigError(name, "an object of settings at the top level", path);
    }
    return { path, data: data as Record<string, unknown> };
  }
  return undefined;
}

/** A structured section of the config file, checked against its schema; the error names the key path (`commands.date.options.0.value`). */
function section<T extends TSchema>(key: string, schema: T, raw: unknown, source: string): Static<T> {
  if (Value.Check(schema, raw)) return raw;
  const first = Value.Errors(schema, raw).First();
  // A JSON pointer: `/seq/options/0`, with `~1` for a slash inside a key.
  const path = first?.path.split("/").slice(1).map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~")) ?? [];
  throw new ConfigError([key, ...path].join("."), first?.message.toLowerCase() ?? `a ${key} object`, source);
}

/**
 * Reads the environment and the optional config file once. This is the only
 * module that looks at `process.env`; everything else receives a Config.
 */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const values = new Map<string, Parsed>();
  const features: Record<string, boolean> = {};

  const dataDirRaw = env.BAKERST_DATA_DIR ?? KEYS.BAKERST_DATA_DIR.default;
  const dataDir = parseValue("BAKERST_DATA_DIR", KEYS.BAKERST_DATA_DIR, dataDirRaw, "environment", cwd) as string;
  const file = readFile(dataDir);
  let modelsFile: ModelsFile = {};
  let commandGrammars: CommandGrammarsSpec = {};

  if (file) {
    for (const [key, raw] of Object.entries(file.data)) {
      if (key === "models") {
        modelsFile = section(key, ModelsFileSchema, raw, file.path);
        continue;
      }
      if (key === "commands") {
        commandGrammars = section(key, CommandGrammarsSpec, raw, file.path);
        continue;
      }
      if (key.startsWith(FEATURE_PREFIX)) {
        features[key.slice(FEATURE_PREFIX.length).toLowerCase()] = parseValue(key, { kind: "bool", help: "" }, raw, file.path, cwd) as boolean;
        continue;
      }
      const spec = keySpec(key);
      if (!spec || key === "BAKERST_DATA_DIR") {
        throw new ConfigError(key, `a known setting (see bakerst --help); this key is not one`, file.path);
      }
      if (raw === null) continue;
      values.set(key, parseValue(key, spec, raw, file.path, dataDir));
    }
  }

  for (const [key, raw] of Object.entries(env)) {
    if (raw === undefined) continue;
    if (key.startsWith(FEATURE_PREFIX) && key.length > FEATURE_PREFIX.length) {
      features[key.slice(FEATURE_PREFIX.length).toLowerCase()] = parseValue(key, { kind: "bool", help: "" }, raw, "environment", cwd) as boolean;
      continue;
    }
    if (!isKey(key) || key === "BAKERST_DATA_DIR") continue;
    // An empty variable means "unset", the way shells and compose files use it.
    if (raw === "") continue;
    values.set(key, parseValue(key, KEYS[key], raw, "environment", cwd));
  }

  const get = <T extends Parsed>(key: Key): T | undefined => {
    if (values.has(key)) return values.get(key) as T;
    const spec = KEYS[key] as { default?: string };
    return spec.default === undefined ? undefined : (parseValue(key, KEYS[key], spec.default, "default", cwd) as T);
  };
  const str = (key: Key) => get<string>(key);
  const list = (key: Key) => get<string[]>(key) ?? [];

  const roles: Partial<Record<Role, string[]>> = { ...(modelsFile.roles as Partial<Record<Role, string[]>> | undefined) };
  for (const role of ROLES) {
    const key = `MODEL_${role.toUpperCase()}` as Key;
    const chain = get<string[]>(key);
    if (!chain) continue;
    for (const ref of chain) {
      if (!/^(anthropic|openai):.+$/.test(ref)) {
        throw new ConfigError(key, `models written provider:model (anthropic:... or openai:...), got ${JSON.stringify(ref)}`, "environment");
      }
    }
    if (chain.length) roles[role] = chain;
  }

  const trustedProxies = list("TRUSTED_PROXIES");
  for (const entry of trustedProxies) {
    const [addr = "", bits] = entry.split("/");
    const family = isIP(addr);
    const maxBits = family === 4 ? 32 : 128;
    if (!family || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= maxBits))) {
      throw new ConfigError("TRUSTED_PROXIES", `IP addresses or CIDRs such as 10.0.0.0/8, got ${JSON.stringify(entry)}`, "environment or config file");
    }
  }

  return {
    port: get<number>("PORT")!,
    host: str("HOST")!,
    dataDir,
    authToken: str("AUTH_TOKEN"),
    corsOrigins: list("CORS_ORIGINS"),
    trustedProxies,
    publicUrl: str("PUBLIC_URL"),
    maxBodyBytes: get<number>("MAX_BODY_BYTES")!,
    logLevel: str("LOG_LEVEL") as Config["logLevel"],
    nats: { url: str("NATS_URL"), credsFile: str("NATS_CREDS") },
    jobs: {
      ackWaitMs: get<number>("JOB_ACK_WAIT_MS")!,
      waitTimeoutMs: get<number>("JOB_WAIT_TIMEOUT_MS")!,
      deadlineGraceMs: get<number>("JOB_DEADLINE_GRACE_MS")!,
      workerConcurrency: get<number>("WORKER_CONCURRENCY")!,
      edgeWorker: get<boolean>("EDGE_WORKER")!,
      heartbeatMs: get<number>("HEARTBEAT_INTERVAL_MS")!,
      commandAllowlist: str("COMMAND_ALLOWLIST"),
      commandGrammars,
      commandSandbox: str("COMMAND_SANDBOX") as Config["jobs"]["commandSandbox"],
      commandTimeoutMs: get<number>("COMMAND_TIMEOUT_MS")!,
      httpAllow: list("HTTP_JOB_ALLOW"),
      httpDeny: list("HTTP_JOB_DENY"),
      httpTimeoutMs: get<number>("HTTP_JOB_TIMEOUT_MS")!,
      redactValues: [
        ...(Object.keys(KEYS) as Key[]).filter((k) => KEYS[k].kind === "secret").map((k) => str(k)),
        ...list("SECRETS_TO_REDACT").map((name) => env[name]),
      ].filter((v): v is string => !!v),
    },
    anthropic: {
      apiKey: str("ANTHROPIC_API_KEY"),
      oauthToken: str("ANTHROPIC_OAUTH_TOKEN"),
      baseURL: str("ANTHROPIC_BASE_URL"),
    },
    openai: { baseURL: str("OPENAI_BASE_URL"), apiKey: str("OPENAI_API_KEY") },
    models: {
      roles,
      prices: modelsFile.prices ?? {},
      maxRetries: get<number>("MODEL_MAX_RETRIES")!,
      timeoutMs: get<number>("MODEL_TIMEOUT_MS")!,
      dailyBudgetUsd: get<number>("DAILY_BUDGET_USD") || undefined,
    },
    voyage: { apiKey: str("VOYAGE_API_KEY"), baseURL: str("VOYAGE_BASE_URL"), model: str("VOYAGE_MODEL")! },
    embeddings: { baseURL: str("EMBEDDINGS_BASE_URL"), apiKey: str("EMBEDDINGS_API_KEY") ?? str("OPENAI_API_KEY"), model: str("EMBEDDINGS_MODEL")! },
    qdrant: { url: str("QDRANT_URL"), apiKey: str("QDRANT_API_KEY"), collection: str("QDRANT_COLLECTION")! },
    memory: {
      promptTokens: get<number>("MEMORY_PROMPT_TOKENS")!,
      observerThresholdChars: get<number>("OBSERVER_THRESHOLD_CHARS")!,
      reflectorThresholdChars: get<number>("REFLECTOR_THRESHOLD_CHARS")!,
    },
    telegram: { token: str("TELEGRAM_BOT_TOKEN"), apiRoot: str("TELEGRAM_API_ROOT") },
    discord: { token: str("DISCORD_BOT_TOKEN"), apiBase: str("DISCORD_API_BASE") },
    taskAllowedPaths: list("TASK_ALLOWED_PATHS"),
    features,
    otelEndpoint: str("OTEL_EXPORTER_OTLP_ENDPOINT"),
    file: file?.path,
  };
}
