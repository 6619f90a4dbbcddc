import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { FEATURE_PREFIX, KEYS, type Key, type KeySet, type KeySpec, type KeyValues } from "./keys.ts";
import { ConfigError, type Parsed, parseValue } from "./parse.ts";

export { defineKeys, KEYS, type KeySet, type KeySpec, type KeyValues } from "./keys.ts";
export { ConfigError } from "./parse.ts";

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

/** Anthropic refuses a thinking budget under this; 0 turns thinking off. */
export const MIN_THINKING_TOKENS = 1024;
export const MAX_THINKING_TOKENS = 64_000;
export const ThinkingSchema = Type.Integer({ minimum: 0, maximum: MAX_THINKING_TOKENS, description: `thinking budget in tokens: 0 (off) or ${MIN_THINKING_TOKENS} and more` });

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
    /** Extended thinking per role. */
    thinking: Type.Optional(Type.Partial(Type.Object(Object.fromEntries(ROLES.map((r) => [r, ThinkingSchema])), { additionalProperties: false }))),
    /** Context windows by model id or prefix, for models the built-in table does not know (local ones). */
    contextTokens: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.Integer({ minimum: 1024 }))),
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
  nats: {
    url: string | undefined;
    credsFile: string | undefined;
    /** The owner accepts a NATS that lets anyone in (NATS_INSECURE). */
    insecure: boolean;
  };
  anthropic: { apiKey: string | undefined; oauthToken: string | undefined; baseURL: string | undefined };
  openai: { baseURL: string | undefined; apiKey: string | undefined };
  models: {
    /** Chains from config (env or file); empty where the role is left to defaults. */
    roles: Partial<Record<Role, string[]>>;
    prices: Record<string, Price>;
    /** Extended-thinking budget per role (0: off). */
    thinking: Record<Role, number>;
    contextTokens: Record<string, number>;
    maxRetries: number;
    timeoutMs: number;
    dailyBudgetUsd: number | undefined;
  };
  features: Record<string, boolean>;
  otelEndpoint: string | undefined;
  /** Which file, if any, the settings were read from. */
  file: string | undefined;
  /** The environment the settings were read from: `bakerst upgrade` starts the new process with the same. */
  environment: Readonly<Record<string, string | undefined>>;
  /** The kernel's and every area's keys and file sections, for --help and the file check. */
  schemas: readonly ConfigSchema[];
  /** An area's settings, typed; a bad value throws a ConfigError naming its key. */
  read<K extends KeySet>(keys: K): KeyValues<K>;
  /** A section of the config file (`commands:`...), checked against its schema; undefined when absent. */
  section<S extends TSchema>(name: string, schema: S): Static<S> | undefined;
  /** Every secret this process was given (secret-kind keys, SECRETS_TO_REDACT): what output must never show. */
  secrets(): string[];
}

/** What an area brings to the config: its keys and its sections of the config file. */
export interface ConfigSchema {
  name: string;
  keys?: KeySet;
  sections?: Record<string, TSchema>;
}

export interface LoadOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** The areas' keys and sections; their values are checked here, at start. */
  schemas?: readonly ConfigSchema[];
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
function checkSection<T extends TSchema>(key: string, schema: T, raw: unknown, source: string): Static<T> {
  if (Value.Check(schema, raw)) return raw;
  const first = Value.Errors(schema, raw).First();
  // A JSON pointer: `/seq/options/0`, with `~1` for a slash inside a key.
  const path =
    first?.path
      .split("/")
      .slice(1)
      .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~")) ?? [];
  throw new ConfigError([key, ...path].join("."), first?.message.toLowerCase() ?? `a ${key} object`, source);
}

/**
 * Reads the environment and the optional config file once. This is the only
 * module that looks at `process.env`; everything else receives a Config.
 */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const schemas: ConfigSchema[] = [{ name: "core", keys: KEYS, sections: { models: ModelsFileSchema } }, ...(opts.schemas ?? [])];
  const specs = new Map<string, KeySpec>();
  for (const sc of schemas) for (const [k, spec] of Object.entries(sc.keys ?? {})) specs.set(k, spec);
  const sectionSchemas = new Map<string, TSchema>();
  for (const sc of schemas) for (const [k, schema] of Object.entries(sc.sections ?? {})) sectionSchemas.set(k, schema);
  const features: Record<string, boolean> = {};

  const dataDirRaw = env.BAKERST_DATA_DIR ?? KEYS.BAKERST_DATA_DIR.default;
  const dataDir = parseValue("BAKERST_DATA_DIR", KEYS.BAKERST_DATA_DIR, dataDirRaw, "environment", cwd) as string;
  const file = readFile(dataDir);
  const fromFile = new Map<string, unknown>();
  const sections = new Map<string, unknown>();

  if (file) {
    for (const [key, raw] of Object.entries(file.data)) {
      const schema = sectionSchemas.get(key);
      if (schema) {
        sections.set(key, checkSection(key, schema, raw, file.path));
        continue;
      }
      if (key.startsWith(FEATURE_PREFIX)) {
        features[key.slice(FEATURE_PREFIX.length).toLowerCase()] = parseValue(key, { kind: "bool", help: "" }, raw, file.path, cwd) as boolean;
        continue;
      }
      if (!specs.has(key) || key === "BAKERST_DATA_DIR") {
        throw new ConfigError(key, `a known setting (see bakerst --help); this key is not one`, file.path);
      }
      if (raw !== null) fromFile.set(key, raw);
    }
  }
  for (const [key, raw] of Object.entries(env)) {
    if (raw !== undefined && key.startsWith(FEATURE_PREFIX) && key.length > FEATURE_PREFIX.length) {
      features[key.slice(FEATURE_PREFIX.length).toLowerCase()] = parseValue(key, { kind: "bool", help: "" }, raw, "environment", cwd) as boolean;
    }
  }

  const parsed = new Map<string, Parsed | undefined>();
  /** One key's value: the environment (an empty variable means unset), then the file, then the default. */
  const value = (key: string, spec: KeySpec): Parsed | undefined => {
    if (parsed.has(key)) return parsed.get(key);
    const fromEnv = env[key];
    let v: Parsed | undefined;
    if (key === "BAKERST_DATA_DIR") v = dataDir;
    else if (fromEnv !== undefined && fromEnv !== "") v = parseValue(key, spec, fromEnv, "environment", cwd);
    else if (fromFile.has(key)) v = parseValue(key, spec, fromFile.get(key), file!.path, dataDir);
    else if (spec.default !== undefined) v = parseValue(key, spec, spec.default, "default", cwd);
    else if (spec.kind === "list") v = [];
    parsed.set(key, v);
    return v;
  };
  // Every known key is checked now, so a bad setting stops start-up naming it.
  for (const [key, spec] of specs) value(key, spec);
  const read = <K extends KeySet>(keys: K): KeyValues<K> => Object.fromEntries(Object.entries(keys).map(([k, spec]) => [k, value(k, spec)])) as KeyValues<K>;
  const k = read(KEYS);

  const roles: Partial<Record<Role, string[]>> = { ...((sections.get("models") as ModelsFile | undefined)?.roles as Partial<Record<Role, string[]>> | undefined) };
  for (const role of ROLES) {
    const key = `MODEL_${role.toUpperCase()}` as Key;
    const chain = k[key] as string[];
    for (const ref of chain) {
      if (!/^(anthropic|openai):.+$/.test(ref)) {
        throw new ConfigError(key, `models written provider:model (anthropic:... or openai:...), got ${JSON.stringify(ref)}`, "environment");
      }
    }
    if (chain.length) roles[role] = chain;
  }

  const modelsFile = (sections.get("models") as ModelsFile | undefined) ?? {};
  const thinking = Object.fromEntries(
    ROLES.map((role) => {
      const key = `THINKING_${role.toUpperCase()}` as Key;
      const fromEnv = env[key] !== undefined && env[key] !== "";
      const inFile = !fromEnv && modelsFile.thinking?.[role] !== undefined;
      const budget = inFile ? modelsFile.thinking![role]! : (k[key] as number);
      if (budget !== 0 && budget < MIN_THINKING_TOKENS) {
        throw new ConfigError(
          inFile ? `models.thinking.${role}` : key,
          `0 (off) or at least ${MIN_THINKING_TOKENS} tokens, got ${budget}`,
          inFile ? file!.path : fromEnv ? "environment" : "config file",
        );
      }
      return [role, budget];
    }),
  ) as Record<Role, number>;

  for (const entry of k.TRUSTED_PROXIES) {
    const [addr = "", bits] = entry.split("/");
    const family = isIP(addr);
    const maxBits = family === 4 ? 32 : 128;
    if (!family || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= maxBits))) {
      throw new ConfigError("TRUSTED_PROXIES", `IP addresses or CIDRs such as 10.0.0.0/8, got ${JSON.stringify(entry)}`, "environment or config file");
    }
  }

  return {
    port: k.PORT,
    host: k.HOST,
    dataDir,
    authToken: k.AUTH_TOKEN,
    corsOrigins: k.CORS_ORIGINS,
    trustedProxies: k.TRUSTED_PROXIES,
    publicUrl: k.PUBLIC_URL,
    maxBodyBytes: k.MAX_BODY_BYTES,
    logLevel: k.LOG_LEVEL as Config["logLevel"],
    nats: { url: k.NATS_URL, credsFile: k.NATS_CREDS, insecure: k.NATS_INSECURE },
    anthropic: { apiKey: k.ANTHROPIC_API_KEY, oauthToken: k.ANTHROPIC_OAUTH_TOKEN, baseURL: k.ANTHROPIC_BASE_URL },
    openai: { baseURL: k.OPENAI_BASE_URL, apiKey: k.OPENAI_API_KEY },
    models: {
      roles,
      prices: modelsFile.prices ?? {},
      thinking,
      contextTokens: modelsFile.contextTokens ?? {},
      maxRetries: k.MODEL_MAX_RETRIES,
      timeoutMs: k.MODEL_TIMEOUT_MS,
      dailyBudgetUsd: k.DAILY_BUDGET_USD || undefined,
    },
    features,
    otelEndpoint: k.OTEL_EXPORTER_OTLP_ENDPOINT,
    file: file?.path,
    environment: { ...env },
    schemas,
    read,
    section: <S extends TSchema>(name: string, schema: S) => {
      const v = sections.get(name);
      return v === undefined ? undefined : checkSection(name, schema, v, file?.path ?? "config file");
    },
    secrets: () =>
      [
        ...[...specs].filter(([, spec]) => spec.kind === "secret").map(([key, spec]) => value(key, spec) as string | undefined),
        ...k.SECRETS_TO_REDACT.map((name) => env[name]),
      ].filter((v): v is string => !!v),
  };
}
