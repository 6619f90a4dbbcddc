import { and, desc, gte, sql } from "drizzle-orm";
import type { LoopUsage } from "../agent/loop.ts";
import type { UsageRecord, UsageSink } from "../agent/types.ts";
import type { Price } from "../config/index.ts";
import type { Db } from "../db/client.ts";
import { AppError } from "../errors.ts";
import { costOf, savedBy } from "./prices.ts";
import { usage as usageTable } from "./usage.sql.ts";

export const utcDay = (at: number) => new Date(at).toISOString().slice(0, 10);

type TurnCostRow = { turnId: string } & Omit<LoopUsage, "model">;

export class BudgetExceededError extends AppError {
  constructor(spent: number, budget: number) {
    super(
      "budget_exceeded",
      `daily budget of $${budget.toFixed(2)} reached ($${spent.toFixed(4)} spent today, UTC); background work is paused until tomorrow or until DAILY_BUDGET_USD is raised`,
    );
  }
}

/**
 * Records every call's tokens and cost and keeps today's total in memory so the
 * budget check on the hot path is a comparison, not a query.
 */
export class UsageLedger implements UsageSink {
  private today = "";
  private spentToday = 0;
  private insert;
  /**
   * Rows wait up to FLUSH_MS and are written in one transaction: under load
   * this turns a commit per model call into one per batch. Budget decisions
   * never wait for it; they use the in-memory total.
   */
  private pending: Record<string, string | number | null>[] = [];
  private perTurn;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private db: Db,
    private prices: () => Record<string, Price>,
    private budget: () => number | undefined,
    private now: () => number = Date.now,
  ) {
    this.insert = db.$client.query(
      `insert into usage (at, day, role, provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, saved_usd, conversation_id, turn_id, origin)
       values ($at, $day, $role, $provider, $model, $inputTokens, $outputTokens, $cacheReadTokens, $cacheWriteTokens, $costUsd, $savedUsd, $conversationId, $turnId, $origin)`,
    );
    this.perTurn = db.$client.query<TurnCostRow, { conversationId: string }>(
      `select turn_id as turnId, sum(input_tokens) as inputTokens, sum(output_tokens) as outputTokens, sum(cache_read_tokens) as cacheReadTokens,
              sum(cache_write_tokens) as cacheWriteTokens, sum(cost_usd) as costUsd, count(*) as modelCalls
       from usage where conversation_id = $conversationId and turn_id is not null and role = 'agent' group by turn_id`,
    );
  }

  private rollDay(): void {
    const day = utcDay(this.now());
    if (day === this.today) return;
    this.today = day;
    const row = this.db
      .select({ total: sql<number>`coalesce(sum(${usageTable.costUsd}), 0)` })
      .from(usageTable)
      .where(sql`${usageTable.day} = ${day}`)
      .get();
    this.spentToday = row?.total ?? 0;
  }

  record(r: UsageRecord): number {
    const at = this.now();
    const prices = this.prices();
    const cost = costOf(r.model, r.usage, prices);
    this.rollDay();
    this.pending.push({
      at,
      day: utcDay(at),
      role: r.role,
      provider: r.provider,
      model: r.model,
      inputTokens: r.usage.inputTokens,
      outputTokens: r.usage.outputTokens,
      cacheReadTokens: r.usage.cacheReadTokens,
      cacheWriteTokens: r.usage.cacheWriteTokens,
      costUsd: cost,
      savedUsd: savedBy(r.model, r.usage, prices),
      conversationId: r.conversationId ?? null,
      turnId: r.turnId ?? null,
      origin: r.origin ?? null,
    });
    if (this.pending.length >= MAX_BATCH) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
    this.spentToday += cost;
    return cost;
  }

  /** Writes waiting rows now; called before reads of the table and on shutdown. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending.length) return;
    const rows = this.pending;
    this.pending = [];
    this.db.$client.transaction(() => {
      for (const row of rows) this.insert.run(row);
    })();
  }

  status() {
    this.rollDay();
    const budget = this.budget();
    return {
      day: this.today,
      dailyUsd: budget ?? null,
      spentUsd: round(this.spentToday),
      remainingUsd: budget === undefined ? null : round(Math.max(0, budget - this.spentToday)),
      exceeded: budget !== undefined && this.spentToday >= budget,
    };
  }

  /** Throws BudgetExceededError when today's spend has reached the budget. */
  assertWithinBudget(): void {
    const s = this.status();
    if (s.exceeded && s.dailyUsd !== null) throw new BudgetExceededError(s.spentUsd, s.dailyUsd);
  }

  byDay(days: number) {
    this.flush();
    const since = utcDay(this.now() - (days - 1) * 86_400_000);
    const rows = this.db
      .select({
        day: usageTable.day,
        model: usageTable.model,
        provider: usageTable.provider,
        calls: sql<number>`count(*)`,
        inputTokens: sql<number>`sum(${usageTable.inputTokens})`,
        outputTokens: sql<number>`sum(${usageTable.outputTokens})`,
        cacheReadTokens: sql<number>`sum(${usageTable.cacheReadTokens})`,
        cacheWriteTokens: sql<number>`sum(${usageTable.cacheWriteTokens})`,
        costUsd: sql<number>`sum(${usageTable.costUsd})`,
        savedUsd: sql<number>`sum(${usageTable.savedUsd})`,
      })
      .from(usageTable)
      .where(and(gte(usageTable.day, since)))
      .groupBy(usageTable.day, usageTable.model, usageTable.provider)
      .orderBy(desc(usageTable.day), usageTable.model)
      .all();
    const totals = rows.reduce(
      (t, r) => ({
        calls: t.calls + r.calls,
        inputTokens: t.inputTokens + r.inputTokens,
        outputTokens: t.outputTokens + r.outputTokens,
        cacheReadTokens: t.cacheReadTokens + r.cacheReadTokens,
        cacheWriteTokens: t.cacheWriteTokens + r.cacheWriteTokens,
        costUsd: t.costUsd + r.costUsd,
        savedUsd: t.savedUsd + r.savedUsd,
      }),
      { calls: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0, savedUsd: 0 },
    );
    return {
      since,
      rows: rows.map((r) => ({ ...r, costUsd: round(r.costUsd), savedUsd: round(r.savedUsd) })),
      totals: { ...totals, costUsd: round(totals.costUsd), savedUsd: round(totals.savedUsd) },
      budget: this.status(),
    };
  }

  /** What each turn of a conversation cost (its agent calls), by turn id. */
  byTurn(conversationId: string): Record<string, Omit<TurnCostRow, "turnId">> {
    this.flush();
    return Object.fromEntries(this.perTurn.all({ conversationId }).map(({ turnId, ...u }) => [turnId, { ...u, costUsd: round(u.costUsd) }]));
  }
}

const round = (n: number) => Math.round(n * 1e6) / 1e6;
const FLUSH_MS = 25;
const MAX_BATCH = 256;
