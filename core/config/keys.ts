/**
 * Every setting bakerst reads, declared once. The environment wins over the
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

export const KEYS = {
  PORT: { kind: "int", min: 0, max: 65535, default: "3000", help: "HTTP port (0 picks a free one)" },
  HOST: { kind: "string", default: "0.0.0.0", help: "address to listen on" },
  BAKERST_DATA_DIR: { kind: "path", default: "./data", help: "where the database, token and overrides live" },
  AUTH_TOKEN: { kind: "secret", help: "API token; generated into the data dir when unset" },
  CORS_ORIGINS: { kind: "list", help: "comma-separated origins allowed to call the API from a browser" },
  TRUSTED_PROXIES: { kind: "list", help: "reverse proxies (IPs or CIDRs) whose X-Forwarded-For names the client, for the login rate limit" },
  PUBLIC_URL: { kind: "url", help: "URL the owner opens, used in the printed login link" },
  MAX_BODY_BYTES: { kind: "int", min: 1024, max: 64 * 1024 * 1024, default: String(1024 * 1024), help: "largest request body accepted" },
  LOG_LEVEL: { kind: "string", default: "info", oneOf: ["debug", "info", "warn", "error", "silent"], help: "log verbosity" },

  NATS_URL: { kind: "url", help: "NATS server; unset runs the in-process bus (edge mode)" },
  NATS_CREDS: { kind: "path", help: "NATS credentials file" },

  JOB_ACK_WAIT_MS: { kind: "int", min: 1000, max: 600_000, default: "30000", help: "how long a job may go unacked by its worker before it is redelivered" },
  JOB_WAIT_TIMEOUT_MS: { kind: "int", min: 0, max: 3_600_000, default: "60000", help: "longest the agent waits for a job's result before answering without it" },
  JOB_DEADLINE_GRACE_MS: { kind: "int", min: 1000, max: 86_400_000, default: "60000", help: "time past a job's timeout before the reaper fails it" },
  WORKER_CONCURRENCY: { kind: "int", min: 1, max: 256, default: "4", help: "jobs the in-process worker runs at once (edge mode)" },
  EDGE_WORKER: { kind: "bool", default: "true", help: "host the worker in-process in edge mode (false leaves jobs queued)" },
  HEARTBEAT_INTERVAL_MS: { kind: "int", min: 100, max: 600_000, default: "30000", help: "how often the brain and the edge worker send heartbeats" },
  COMMAND_ALLOWLIST: { kind: "string", help: "programs command jobs may run, e.g. uptime,df,date,kubectl:get|describe (default: every program with a grammar; commands: in the config file adds grammars)" },
  COMMAND_SANDBOX: {
    kind: "string",
    default: "required",
    oneOf: ["required", "off"],
    help: "required: command jobs run inside the bubblewrap sandbox and are refused where it cannot work; off: run them unsandboxed",
  },
  COMMAND_TIMEOUT_MS: { kind: "int", min: 100, max: 3_600_000, default: "30000", help: "default timeout of a command job" },
  HTTP_JOB_ALLOW: { kind: "list", help: "hosts/CIDRs http jobs may reach; unset allows any but metadata addresses and HTTP_JOB_DENY" },
  HTTP_JOB_DENY: { kind: "list", help: "hosts/CIDRs http jobs may not reach" },
  HTTP_JOB_TIMEOUT_MS: { kind: "int", min: 100, max: 3_600_000, default: "30000", help: "default timeout of an http job" },
  SECRETS_TO_REDACT: { kind: "list", help: "names of further environment variables whose values are redacted from job output" },

  ANTHROPIC_API_KEY: { kind: "secret", help: "Anthropic API key" },
  ANTHROPIC_OAUTH_TOKEN: { kind: "secret", help: "Anthropic OAuth token (instead of an API key)" },
  ANTHROPIC_BASE_URL: { kind: "url", help: "Anthropic API base URL" },
  OPENAI_BASE_URL: { kind: "url", help: "OpenAI-compatible server (Ollama, vLLM, llama.cpp, OpenRouter), e.g. http://localhost:11434/v1" },
  OPENAI_API_KEY: { kind: "secret", help: "API key for the OpenAI-compatible server" },
  MODEL_AGENT: { kind: "list", help: "model chain for chat, primary first: anthropic:claude-sonnet-5-5,openai:llama3.1" },
  MODEL_OBSERVER: { kind: "list", help: "model chain for the memory observer" },
  MODEL_REFLECTOR: { kind: "list", help: "model chain for the memory reflector" },
  MODEL_WORKER: { kind: "list", help: "model chain for agent jobs" },
  MODEL_MAX_RETRIES: { kind: "int", min: 0, max: 10, default: "3", help: "retries per model on 429/5xx/overloaded" },
  MODEL_TIMEOUT_MS: { kind: "int", min: 1000, max: 3_600_000, default: "600000", help: "timeout of one model call" },
  DAILY_BUDGET_USD: { kind: "number", min: 0, help: "daily spend limit in USD; past it background work is refused" },

  VOYAGE_API_KEY: { kind: "secret", help: "Voyage AI key for embeddings" },
  VOYAGE_BASE_URL: { kind: "url", help: "Voyage API root including /v1 (default https://api.voyageai.com/v1)" },
  VOYAGE_MODEL: { kind: "string", default: "voyage-3.5-lite", help: "Voyage embedding model" },
  EMBEDDINGS_BASE_URL: { kind: "url", help: "OpenAI-compatible embeddings server, e.g. http://localhost:11434/v1 (used when VOYAGE_API_KEY is unset)" },
  EMBEDDINGS_API_KEY: { kind: "secret", help: "API key for the embeddings server (defaults to OPENAI_API_KEY)" },
  EMBEDDINGS_MODEL: { kind: "string", default: "nomic-embed-text", help: "model for the OpenAI-compatible embeddings server" },
  QDRANT_URL: { kind: "url", help: "Qdrant; unset keeps memory in SQLite" },
  QDRANT_API_KEY: { kind: "secret", help: "Qdrant API key" },
  QDRANT_COLLECTION: { kind: "string", default: "bakerst_memories", help: "Qdrant collection holding memory vectors" },
  MEMORY_PROMPT_TOKENS: { kind: "int", min: 0, max: 32_000, default: "1200", help: "token budget for memories, observations and reflections in the system prompt (0 turns it off)" },
  OBSERVER_THRESHOLD_CHARS: { kind: "int", min: 200, max: 1_000_000, default: "6000", help: "unobserved conversation text that triggers the observer" },
  REFLECTOR_THRESHOLD_CHARS: { kind: "int", min: 200, max: 1_000_000, default: "8000", help: "unreflected observation text that triggers the reflector" },
  TELEGRAM_BOT_TOKEN: { kind: "secret", help: "Telegram bot token" },
  TELEGRAM_API_ROOT: { kind: "url", help: "Telegram Bot API root" },
  DISCORD_BOT_TOKEN: { kind: "secret", help: "Discord bot token" },
  DISCORD_API_BASE: { kind: "url", help: "Discord REST API base" },
  TASK_ALLOWED_PATHS: { kind: "list", help: "host paths tasks may mount; unset refuses every mount" },
  OTEL_EXPORTER_OTLP_ENDPOINT: { kind: "url", help: "OpenTelemetry collector" },
} as const satisfies Record<string, KeySpec>;

export type Key = keyof typeof KEYS;

/** `FEATURE_*` flags are open-ended: any `FEATURE_NAME=true|false`. */
export const FEATURE_PREFIX = "FEATURE_";
