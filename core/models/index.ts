import { AnthropicProvider } from "../agent/providers/anthropic.ts";
import { OpenAIProvider } from "../agent/providers/openai.ts";
import { ModelRouter } from "../agent/router.ts";
import type { ModelProvider, ProviderName } from "../agent/types.ts";
import { type Config, ROLES, type Role } from "../config/index.ts";
import type { Db } from "../db/client.ts";
import { type Logger, logFn } from "../telemetry/log.ts";
import { tracedProvider } from "../telemetry/tracing.ts";
import { ModelSettings } from "./settings.ts";
import { UsageLedger } from "./usage.ts";

const isRole = (r: string): r is Role => (ROLES as readonly string[]).includes(r);

export function providersFrom(config: Config): Partial<Record<ProviderName, ModelProvider>> {
  const out: Partial<Record<ProviderName, ModelProvider>> = {};
  const { anthropic, openai } = config;
  if (anthropic.apiKey || anthropic.oauthToken) {
    out.anthropic = new AnthropicProvider({ ...anthropic, timeoutMs: config.models.timeoutMs } as ConstructorParameters<typeof AnthropicProvider>[0]);
  }
  if (openai.baseURL) {
    out.openai = new OpenAIProvider({ baseURL: openai.baseURL, apiKey: openai.apiKey, timeoutMs: config.models.timeoutMs } as ConstructorParameters<typeof OpenAIProvider>[0]);
  }
  return out;
}

export interface Models {
  router: ModelRouter;
  settings: ModelSettings;
  ledger: UsageLedger;
}

export function createModels(config: Config, db: Db, log: Logger, overrides: Partial<Record<ProviderName, ModelProvider>> = {}): Models {
  // Every model call is a span (a no-op without OTEL_EXPORTER_OTLP_ENDPOINT).
  const providers = Object.fromEntries(Object.entries({ ...providersFrom(config), ...overrides }).map(([name, p]) => [name, tracedProvider(p)])) as Partial<
    Record<ProviderName, ModelProvider>
  >;
  const configured = () => Object.keys(providers) as ProviderName[];
  const settings = new ModelSettings(db, config, configured);
  const ledger = new UsageLedger(
    db,
    () => settings.prices(),
    () => settings.dailyBudgetUsd(),
  );
  const router = new ModelRouter({
    providers,
    chain: (role) => (isRole(role) ? settings.chain(role) : []),
    usage: ledger,
    thinking: (role) => (isRole(role) ? settings.thinking(role) : 0),
    log: logFn(log.child({ area: "models" })),
    retry: { maxRetries: config.models.maxRetries },
  });
  return { router, settings, ledger };
}
