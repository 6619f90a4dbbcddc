import { type Static, Type } from "@sinclair/typebox";
import { eq } from "drizzle-orm";
import { parseRef } from "../agent/router.ts";
import type { ProviderName } from "../agent/types.ts";
import { type Config, MIN_THINKING_TOKENS, type Price, PriceSchema, ROLES, type Role, ThinkingSchema } from "../config/index.ts";
import type { Db } from "../db/client.ts";
import { settings } from "../db/settings.sql.ts";
import { contextTokensFor, DEFAULT_CONTEXT_TOKENS } from "./limits.ts";
import { DEFAULT_PRICES } from "./prices.ts";

const ModelRef = Type.String({ pattern: "^(anthropic|openai):.+$", maxLength: 200 });

/** Body of PUT /api/models/config; every part optional. An empty chain, a `null` price or budget clears that override. */
export const ModelsConfigBody = Type.Object(
  {
    roles: Type.Optional(Type.Object(Object.fromEntries(ROLES.map((r) => [r, Type.Optional(Type.Array(ModelRef, { maxItems: 8 }))])), { additionalProperties: false })),
    prices: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 200 }), Type.Union([PriceSchema, Type.Null()]))),
    dailyBudgetUsd: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()])),
    /** Extended-thinking budget per role in tokens (0: off); `null` goes back to config. */
    thinking: Type.Optional(Type.Object(Object.fromEntries(ROLES.map((r) => [r, Type.Optional(Type.Union([ThinkingSchema, Type.Null()]))])), { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type ModelsConfigBody = Static<typeof ModelsConfigBody>;

interface Overrides {
  roles: Partial<Record<Role, string[]>>;
  prices: Record<string, Price>;
  dailyBudgetUsd?: number | null;
  thinking?: Partial<Record<Role, number>>;
}

const KEY = "models.config";

export const DEFAULT_MODELS = { agent: "claude-sonnet-5-5", background: "claude-haiku-5-5" } as const;

/**
 * Which model each role uses: the owner's overrides (PUT /api/models/config),
 * then config (MODEL_* or the file), then defaults for the providers that are set up.
 * A role with no chain of its own borrows the agent's.
 */
export class ModelSettings {
  private overrides: Overrides;

  constructor(
    private db: Db,
    private config: Config,
    private configured: () => ProviderName[],
  ) {
    const row = db.select().from(settings).where(eq(settings.key, KEY)).get();
    this.overrides = (row?.value as Overrides | undefined) ?? { roles: {}, prices: {} };
  }

  chain(role: Role): string[] {
    const own = this.overrides.roles[role] ?? this.config.models.roles[role];
    if (own?.length) return own;
    if (role !== "agent") {
      const agent = this.overrides.roles.agent ?? this.config.models.roles.agent;
      if (agent?.length) return agent;
    }
    if (this.configured().includes("anthropic")) {
      return [`anthropic:${role === "agent" ? DEFAULT_MODELS.agent : DEFAULT_MODELS.background}`];
    }
    return [];
  }

  roles(): Record<Role, string[]> {
    return Object.fromEntries(ROLES.map((r) => [r, this.chain(r)])) as Record<Role, string[]>;
  }

  prices(): Record<string, Price> {
    return { ...DEFAULT_PRICES, ...this.config.models.prices, ...this.overrides.prices };
  }

  /** The role's extended-thinking budget in tokens; 0 is off. */
  thinking(role: Role): number {
    return this.overrides.thinking?.[role] ?? this.config.models.thinking[role] ?? 0;
  }

  /** The smallest context window among the role's models: the one a conversation must fit whichever answers. */
  contextTokens(role: Role): number {
    const table = { ...DEFAULT_CONTEXT_TOKENS, ...this.config.models.contextTokens };
    const windows = this.chain(role).map((ref) => contextTokensFor(parseRef(ref).model, table));
    return windows.length ? Math.min(...windows) : contextTokensFor("", table);
  }

  dailyBudgetUsd(): number | undefined {
    const o = this.overrides.dailyBudgetUsd;
    if (o === undefined || o === null) return this.config.models.dailyBudgetUsd;
    return o > 0 ? o : undefined;
  }

  view() {
    return {
      roles: this.roles(),
      prices: this.prices(),
      dailyBudgetUsd: this.dailyBudgetUsd() ?? null,
      thinking: Object.fromEntries(ROLES.map((r) => [r, this.thinking(r)])) as Record<Role, number>,
      overrides: this.overrides,
      providers: this.configured(),
    };
  }

  /** Applies a validated PUT body; throws a message naming the field when a model's provider is not set up. */
  update(body: ModelsConfigBody): void {
    const next: Overrides = structuredClone(this.overrides);
    for (const [role, chain] of Object.entries(body.roles ?? {}) as [Role, string[] | undefined][]) {
      if (chain === undefined) continue;
      if (chain.length === 0) {
        delete next.roles[role];
        continue;
      }
      chain.forEach((ref, i) => {
        const provider = ref.slice(0, ref.indexOf(":")) as ProviderName;
        if (!this.configured().includes(provider)) {
          throw Object.assign(
            new Error(`roles.${role}[${i}]: provider ${provider} is not configured (${provider === "anthropic" ? "set ANTHROPIC_API_KEY" : "set OPENAI_BASE_URL"})`),
            {
              field: `roles.${role}`,
            },
          );
        }
      });
      next.roles[role] = chain;
    }
    for (const [model, price] of Object.entries(body.prices ?? {})) {
      if (price === null) delete next.prices[model];
      else next.prices[model] = price;
    }
    for (const [role, budget] of Object.entries(body.thinking ?? {}) as [Role, number | null | undefined][]) {
      if (budget === undefined) continue;
      if (budget !== null && budget !== 0 && budget < MIN_THINKING_TOKENS) {
        throw Object.assign(new Error(`thinking.${role}: 0 (off) or at least ${MIN_THINKING_TOKENS} tokens, got ${budget}`), { field: `thinking.${role}` });
      }
      next.thinking ??= {};
      if (budget === null) delete next.thinking[role];
      else next.thinking[role] = budget;
    }
    if (body.dailyBudgetUsd === null) delete next.dailyBudgetUsd;
    else if (body.dailyBudgetUsd !== undefined) next.dailyBudgetUsd = body.dailyBudgetUsd; // 0: no budget
    const now = Date.now();
    this.db
      .insert(settings)
      .values({ key: KEY, value: next, updatedAt: now })
      .onConflictDoUpdate({ target: settings.key, set: { value: next, updatedAt: now } })
      .run();
    this.overrides = next;
  }
}
