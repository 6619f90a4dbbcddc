import { FailureLimiter } from "./auth/limiter.ts";
import { SessionStore } from "./auth/sessions.ts";
import { TokenKeeper } from "./auth/token.ts";
import { Brain } from "./brain/agent.ts";
import { registerBuiltinTools } from "./brain/builtin.ts";
import { Personality, SystemPrompt } from "./brain/prompt.ts";
import { ToolRegistry } from "./brain/tools.ts";
import type { Config } from "./config/index.ts";
import { ConversationStore } from "./conversations/store.ts";
import { migrationCount, openStore, type Store } from "./db/client.ts";
import { octal, tightenModes } from "./db/private-files.ts";
import { createModels, type Models } from "./models/index.ts";
import type { ModelProvider, ProviderName } from "./models/types.ts";
import { HealthRegistry } from "./telemetry/health.ts";
import { createLogger, type Logger } from "./telemetry/log.ts";
import { createMetrics, type Metrics } from "./telemetry/metrics.ts";
import { VERSION } from "./version.ts";

export interface Services {
  config: Config;
  log: Logger;
  store: Store;
  conversations: ConversationStore;
  models: Models;
  tools: ToolRegistry;
  prompt: SystemPrompt;
  brain: Brain;
  token: TokenKeeper;
  sessions: SessionStore;
  limiter: FailureLimiter;
  health: HealthRegistry;
  metrics: Metrics;
  version: string;
  startedAt: number;
  /** Runs on shutdown, last registered first. */
  onClose(fn: () => Promise<void> | void): void;
  close(): Promise<void>;
}

export interface ServiceOptions {
  log?: Logger;
  /** Replaces configured providers; for tests and benchmarks that wire their own. */
  providers?: Partial<Record<ProviderName, ModelProvider>>;
}

/** Everything the binary runs, wired once from a validated Config. */
export function createServices(config: Config, opts: ServiceOptions = {}): Services {
  const log = opts.log ?? createLogger(config.logLevel);
  for (const c of tightenModes(config.dataDir)) log.warn("data path was readable by others; made private", { path: c.path, from: octal(c.from), to: octal(c.to) });
  const store = openStore(config.dataDir);
  const conversations = new ConversationStore(store.db);
  const models = createModels(config, store.db, log, opts.providers);
  const tools = new ToolRegistry();
  const prompt = new SystemPrompt(new Personality(config.dataDir));
  const brain = new Brain({ store: conversations, router: models.router, ledger: models.ledger, tools, prompt, log: log.child({ area: "brain" }) });
  registerBuiltinTools(tools, { ledger: models.ledger });
  const health = new HealthRegistry();
  const closers: (() => Promise<void> | void)[] = [];
  const token = new TokenKeeper(config.dataDir, config.authToken);
  const sessions = new SessionStore(store.db);
  // A rotation by `bakerst token --rotate` ends browser sessions in a running server too.
  token.onRotate = () => sessions.forgetCached();

  health.register("database", () => {
    store.sqlite.query("select 1").get();
    return { status: "ok", detail: store.path, migrations: migrationCount() };
  });
  health.register("models", () => {
    const roles = models.settings.roles();
    const breakers = models.router.health();
    if (!roles.agent.length) {
      return { status: "down", detail: "no model configured", fix: "set ANTHROPIC_API_KEY, or OPENAI_BASE_URL with MODEL_AGENT=openai:<model>" };
    }
    const open = Object.entries(breakers).filter(([, b]) => b.state !== "closed");
    return {
      status: open.length ? "degraded" : "ok",
      providers: breakers,
      roles,
      ...(open.length ? { fix: `provider ${open.map(([n]) => n).join(", ")} is failing; run bakerst doctor` } : {}),
    };
  });
  health.register("budget", () => {
    const b = models.ledger.status();
    return b.exceeded
      ? { status: "degraded", ...b, fix: "background work is paused until tomorrow (UTC); raise DAILY_BUDGET_USD to resume now" }
      : { status: "ok", ...b };
  });

  return {
    config,
    log,
    store,
    conversations,
    models,
    tools,
    prompt,
    brain,
    token,
    sessions,
    limiter: new FailureLimiter(),
    health,
    metrics: createMetrics(),
    version: VERSION,
    startedAt: Date.now(),
    onClose: (fn) => closers.push(fn),
    async close() {
      await brain.drain(10_000);
      for (const fn of closers.reverse()) await fn();
      models.ledger.flush();
      store.close();
    },
  };
}
