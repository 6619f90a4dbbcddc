import { Redactor } from "./agent/redact.ts";
import type { ModelProvider, ProviderName } from "./agent/types.ts";
import { Webhooks } from "./api/webhook-registry.ts";
import { addressOfClient } from "./audit/http.ts";
import { AuditLog } from "./audit/service.ts";
import { FailureLimiter } from "./auth/limiter.ts";
import { SessionStore } from "./auth/sessions.ts";
import { TokenKeeper } from "./auth/token.ts";
import { Brain } from "./brain/brain.ts";
import { registerBuiltinTools } from "./brain/builtin.ts";
import { Compactor } from "./brain/compact.ts";
import { Personality, SystemPrompt } from "./brain/prompt.ts";
import { BrainToolRegistry, type BrainTools } from "./brain/tools.ts";
import { LocalBus } from "./bus/local.ts";
import type { Bus } from "./bus/types.ts";
import type { Config } from "./config/index.ts";
import { ConversationStore } from "./conversations/store.ts";
import { migrationCount, openStore, type Store } from "./db/client.ts";
import { octal, tightenModes } from "./db/private-files.ts";
import { createModels, type Models } from "./models/index.ts";
import { type NatsExposure, natsAuthHealth, openCoreNatsBus } from "./nats/client.ts";
import { Notifications } from "./notifications/service.ts";
import { HealthRegistry } from "./telemetry/health.ts";
import { createLogger, type Logger } from "./telemetry/log.ts";
import { createMetrics, type Metrics } from "./telemetry/metrics.ts";
import { startTracing, stopTracing } from "./telemetry/tracing.ts";
import { newId } from "./util/ids.ts";
import { VERSION } from "./version.ts";

/** The kernel: what every area gets. */
export interface Services {
  config: Config;
  log: Logger;
  store: Store;
  bus: Bus;
  conversations: ConversationStore;
  models: Models;
  tools: BrainTools;
  prompt: SystemPrompt;
  personality: Personality;
  brain: Brain;
  /** Compaction of long conversations; the memory area gives it its summarizer (the observer). */
  compactor: Compactor;
  notifications: Notifications;
  /** Security-relevant events, append-only (docs/audit.md). */
  audit: AuditLog;
  token: TokenKeeper;
  sessions: SessionStore;
  limiter: FailureLimiter;
  /** Callers from outside with their own secret (`POST /api/webhooks/<name>`). */
  webhooks: Webhooks;
  health: HealthRegistry;
  metrics: Metrics;
  version: string;
  /** This process among the cores sharing a data dir or a NATS (an upgrade runs two). */
  instance: string;
  startedAt: number;
  /** Every secret this process holds, the generated API token and stored secrets included: never to appear in output. */
  secrets(): string[];
  /** Adds values to `secrets()` (asked at each call, so changes count at once): the secrets area hands its store's here. */
  addSecrets(source: () => readonly string[]): void;
  /** Replaces every secret `secrets()` lists, and well-known token shapes; logs, tool results and job output pass through it. */
  redact(text: string): string;
  /** Runs on shutdown, last registered first. */
  onClose(fn: () => Promise<void> | void): void;
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** Replaces the kernel's log (and its redaction); for tests that keep quiet. */
  log?: Logger;
  /** Where the kernel's own (redacting) log writes its lines instead of stderr; for tests that read them. */
  logSink?: (line: string) => unknown;
  /**
   * Another bakerst still runs on this data dir (an upgrade): what it has in
   * flight (answers streaming, leased jobs) is its own, not left by a crash.
   */
  sharing?: boolean;
  /** Replaces configured providers; for tests and benchmarks that wire their own. */
  providers?: Partial<Record<ProviderName, ModelProvider>>;
}

/**
 * The bus the config asks for: in-process, or NATS with the core's identity
 * (refusing an open NATS unless NATS_INSECURE). The NATS client loads only then.
 */
async function kernelBus(config: Config, store: Store, log: Logger, sharing: boolean): Promise<{ bus: Bus; exposure?: NatsExposure }> {
  if (!config.nats.url) return { bus: new LocalBus(store.sqlite, Date.now, !sharing) };
  return openCoreNatsBus(config, log.child({ area: "bus" }));
}

/** Everything the kernel runs, wired once from a validated Config. */
export async function createServices(config: Config, opts: ServiceOptions = {}): Promise<Services> {
  // Asked at each redaction: a token rotated or a secret stored while running counts at once.
  const configured = config.secrets();
  const sources: (() => readonly string[])[] = [() => configured];
  const secrets = () => sources.flatMap((f) => f());
  const redactor = new Redactor([], secrets);
  const redact = (text: string) => redactor.redact(text);
  const log = opts.log ?? createLogger(config.logLevel, {}, opts.logSink, redact);
  const instance = newId();
  for (const c of tightenModes(config.dataDir)) log.warn("data path was readable by others; made private", { path: c.path, from: octal(c.from), to: octal(c.to) });
  const store = openStore(config.dataDir);
  let bus: Bus;
  let exposure: NatsExposure | undefined;
  try {
    ({ bus, exposure } = await kernelBus(config, store, log, !!opts.sharing));
  } catch (err) {
    store.close();
    throw err;
  }
  const conversations = new ConversationStore(store.db);
  // Answers that were still streaming when the last process died say so, with the text they had.
  const interrupted = opts.sharing ? 0 : conversations.markInterrupted();
  if (interrupted) log.warn("answers cut off by the last shutdown are marked interrupted", { count: interrupted });
  const models = createModels(config, store.db, log, opts.providers);
  const tools: BrainTools = new BrainToolRegistry(redact);
  const personality = new Personality(config.dataDir);
  const prompt = new SystemPrompt(personality, undefined, redact);
  const notifications = new Notifications(store.db);
  const token = new TokenKeeper(config.dataDir, config.authToken);
  sources.push(() => [token.token]);
  // The SDK loads only with an endpoint: without one, spans are ids for logs and headers (core/telemetry/tracing.ts).
  if (config.otelEndpoint) {
    await startTracing({ endpoint: config.otelEndpoint, service: "bakerst", version: VERSION, instance, redact });
  }
  const audit = new AuditLog(store.db, { secrets, log: log.child({ area: "audit" }) });
  const compactor = new Compactor({ store: conversations, contextTokens: () => models.settings.contextTokens("agent") });
  prompt.contribute("compaction", (ctx) => compactor.section(ctx.conversationId), { layer: "long" });
  const brain = new Brain({
    store: conversations,
    router: models.router,
    ledger: models.ledger,
    tools,
    prompt,
    compactor,
    notifications,
    audit,
    log: log.child({ area: "brain" }),
  });
  registerBuiltinTools(tools, { ledger: models.ledger });
  const health = new HealthRegistry(redact);
  const closers: (() => Promise<void> | void)[] = [];
  const sessions = new SessionStore(store.db);
  const limiter = new FailureLimiter();
  limiter.onBlock = (client, ms) =>
    audit.record({ action: "auth.rate_limited", outcome: "refused", actor: "system", address: addressOfClient(client), detail: { retryAfterS: Math.ceil(ms / 1000) } });
  // A rotation by `bakerst token --rotate` ends browser sessions in a running server too.
  token.onRotate = () => sessions.forgetCached();

  health.register("database", () => {
    store.sqlite.query("select 1").get();
    return { status: "ok", detail: store.path, migrations: migrationCount() };
  });
  health.register("bus", () => ({ ...bus.health(), kind: bus.kind }));
  if (exposure) health.register("nats_auth", () => natsAuthHealth(exposure));
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
    return b.exceeded ? { status: "degraded", ...b, fix: "background work is paused until tomorrow (UTC); raise DAILY_BUDGET_USD to resume now" } : { status: "ok", ...b };
  });

  return {
    config,
    log,
    store,
    bus,
    conversations,
    models,
    tools,
    prompt,
    personality,
    brain,
    compactor,
    notifications,
    audit,
    token,
    sessions,
    limiter,
    webhooks: new Webhooks(),
    health,
    metrics: createMetrics(),
    version: VERSION,
    instance,
    startedAt: Date.now(),
    secrets,
    addSecrets: (source) => sources.push(source),
    redact,
    onClose: (fn) => closers.push(fn),
    async close() {
      await brain.drain(10_000);
      for (const fn of closers.reverse()) await fn();
      await bus.close();
      models.ledger.flush();
      audit.close();
      store.close();
      if (config.otelEndpoint) await stopTracing();
    },
  };
}
