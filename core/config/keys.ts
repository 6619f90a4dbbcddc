/**
 * Settings are declared once, beside whoever reads them: the kernel's here,
 * each area's in its own folder (`defineKeys`). The environment wins over the
 * config file; both go through the same parser, so a bad value names its key
 * whichever place it came from.
 */
export type KeyKind = "string" | "secret" | "int" | "number" | "url" | "list" | "bool" | "path";

export interface KeySpec {
  kind: KeyKind;
  help: string;
  default?: string;
  min?: number;
  max?: number;
  oneOf?: readonly string[];
}

export type KeySet = Record<string, KeySpec>;

/** Declares a set of keys; `config.read(keys)` then returns their typed values. */
export const defineKeys = <const K extends KeySet>(keys: K): K => keys;

type Value<S extends KeySpec> = S["kind"] extends "int" | "number" ? number : S["kind"] extends "bool" ? boolean : S["kind"] extends "list" ? string[] : string;

/** A list is never undefined (empty when unset); any other key without a default may be. */
export type KeyValues<K extends KeySet> = {
  [N in keyof K]: K[N] extends { kind: "list" } ? string[] : K[N] extends { default: string } ? Value<K[N]> : Value<K[N]> | undefined;
};

/** The kernel's settings: HTTP, data, auth, the bus, the models. Areas bring the rest. */
export const KEYS = defineKeys({
  PORT: { kind: "int", min: 0, max: 65535, default: "3000", help: "HTTP port (0 picks a free one)" },
  HOST: { kind: "string", default: "0.0.0.0", help: "address to listen on" },
  BAKERST_DATA_DIR: { kind: "path", default: "./data", help: "where the database, token and overrides live" },
  AUTH_TOKEN: { kind: "secret", help: "API token; generated into the data dir when unset" },
  CORS_ORIGINS: { kind: "list", help: "comma-separated origins allowed to call the API from a browser" },
  TRUSTED_PROXIES: { kind: "list", help: "reverse proxies (IPs or CIDRs) whose X-Forwarded-For names the client, for the login rate limit" },
  PUBLIC_URL: { kind: "url", help: "URL the owner opens, used in the printed login link" },
  MAX_BODY_BYTES: { kind: "int", min: 1024, max: 64 * 1024 * 1024, default: String(1024 * 1024), help: "largest request body accepted" },
  LOG_LEVEL: { kind: "string", default: "info", oneOf: ["debug", "info", "warn", "error", "silent"], help: "log verbosity" },
  SECRETS_TO_REDACT: { kind: "list", help: "names of further environment variables whose values never appear in output" },

  NATS_URL: { kind: "url", help: "NATS server; unset runs the in-process bus (edge mode)" },
  NATS_CREDS: { kind: "path", help: "this process's NATS identity: an nkey seed file from bakerst nats init (creds/core.nk) or a .creds file" },
  NATS_INSECURE: { kind: "bool", default: "false", help: "run on a NATS server that lets clients in without credentials (cluster mode refuses one otherwise)" },

  ANTHROPIC_API_KEY: { kind: "secret", help: "Anthropic API key" },
  ANTHROPIC_OAUTH_TOKEN: { kind: "secret", help: "Anthropic OAuth token (instead of an API key)" },
  ANTHROPIC_BASE_URL: { kind: "url", help: "Anthropic API base URL" },
  OPENAI_BASE_URL: { kind: "url", help: "OpenAI-compatible server (Ollama, vLLM, llama.cpp, OpenRouter), e.g. http://localhost:11434/v1" },
  OPENAI_API_KEY: { kind: "secret", help: "API key for the OpenAI-compatible server" },
  MODEL_AGENT: { kind: "list", help: "model chain for chat, primary first: anthropic:claude-sonnet-5-5,openai:llama3.1" },
  MODEL_OBSERVER: { kind: "list", help: "model chain for the memory observer" },
  MODEL_REFLECTOR: { kind: "list", help: "model chain for the memory reflector" },
  MODEL_WORKER: { kind: "list", help: "model chain for agent jobs" },
  THINKING_AGENT: { kind: "int", min: 0, max: 64_000, default: "0", help: "extended thinking budget in tokens for chat (0: off; at least 1024 on Anthropic)" },
  THINKING_OBSERVER: { kind: "int", min: 0, max: 64_000, default: "0", help: "extended thinking budget for the memory observer" },
  THINKING_REFLECTOR: { kind: "int", min: 0, max: 64_000, default: "0", help: "extended thinking budget for the memory reflector" },
  THINKING_WORKER: { kind: "int", min: 0, max: 64_000, default: "0", help: "extended thinking budget for agent jobs" },
  MODEL_MAX_RETRIES: { kind: "int", min: 0, max: 10, default: "3", help: "retries per model on 429/5xx/overloaded" },
  MODEL_TIMEOUT_MS: { kind: "int", min: 1000, max: 3_600_000, default: "600000", help: "timeout of one model call" },
  DAILY_BUDGET_USD: { kind: "number", min: 0, help: "daily spend limit in USD; past it background work is refused" },

  OTEL_EXPORTER_OTLP_ENDPOINT: { kind: "url", help: "OpenTelemetry collector" },
});

export type Key = keyof typeof KEYS;

/** `FEATURE_*` flags are open-ended: any `FEATURE_NAME=true|false`. */
export const FEATURE_PREFIX = "FEATURE_";
