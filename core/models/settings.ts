import { eq } from "drizzle-orm";
import { Type, type Static } from "@sinclair/typebox";
import { ROLES, PriceSchema, type Config, type Price, type Role } from "../config/index.ts";
import type { Db } from "../db/client.ts";
import { settings } from "../db/settings.sql.ts";
import { DEFAULT_PRICES } from "./prices.ts";
import type { ProviderName } from "../agent/types.ts";

const ModelRef = Type.String({ pattern: "^(anthropic|openai):.+$", maxLength: 200 });

/** Body of PUT /api/models/config; every part optional. An empty chain, a `null` price or budget clears that override. */
export const ModelsConfigBody = Type.Object(
  {
    roles: Type.Optional(
      Type.Object(
        Object.fromEntries(ROLES.map((r) => [r, Type.Optional(Type.Array(ModelRef, { maxItems: 8 }))])),
        { additionalProperties: false },
      ),
    ),
    prices: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 200 }), Type.Union([PriceSchema, Type.Null()]))),
    dailyBudgetUsd: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type ModelsConfigBody = Static<typeof ModelsConfigBody>;

interface Overrides {
  roles: Partial<Record<Role, string[]>>;
  prices: Record<string, Price>;
  dailyBudgetUsd?: number | null;
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
          throw Object.assign(new Error(`roles.${role}[${i}]: provider ${provider} is not configured (${provider === "anthropic" ? "set ANTHROPIC_API_KEY" : "set OPENAI_BASE_URL"})`), {
            field: `roles.${role}`,
          });
        }
      });
      next.roles[role] = chain;
    }
    for (const [model, price] of Object.entries(body.prices ?? {})) {
      if (price === null) delete next.prices[model];
      else next.prices[model] = price;
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
