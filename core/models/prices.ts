import type { Usage } from "../agent/types.ts";
import type { Price } from "../config/index.ts";

/**
 * List prices in USD per million tokens. Cache reads and writes default to
 * Anthropic's rates (0.1× and 1.25× the input price, 5-minute cache); models
 * that bill otherwise say so (OpenAI's cached input is half price on gpt-4o). A dated model id ("claude-sonnet-4-5-20250929")
 * takes the price of its longest matching prefix. Models not listed cost nothing
 * (local models); the owner adds or overrides prices in config or via the API.
 */
export const DEFAULT_PRICES: Record<string, Price> = {
  "claude-opus-5": { input: 5, output: 25 },
  "claude-sonnet-5": { input: 3, output: 15 },
  "claude-haiku-5": { input: 1, output: 5 },
  "claude-opus-4-8": { input: 5, output: 25 },
  "claude-opus-4-7": { input: 5, output: 25 },
  "claude-opus-4-6": { input: 5, output: 25 },
  "claude-sonnet-4-6": { input: 3, output: 15 },
  "claude-opus-4-5": { input: 5, output: 25 },
  "claude-opus-4-1": { input: 15, output: 75 },
  "claude-opus-4": { input: 15, output: 75 },
  "claude-sonnet-4-5": { input: 3, output: 15 },
  "claude-sonnet-4": { input: 3, output: 15 },
  "claude-3-7-sonnet": { input: 3, output: 15 },
  "claude-haiku-4-5": { input: 1, output: 5 },
  "claude-3-5-haiku": { input: 0.8, output: 4 },
  "gpt-4o": { input: 2.5, output: 10, cacheRead: 1.25 },
  "gpt-4o-mini": { input: 0.15, output: 0.6, cacheRead: 0.075 },
};

/** A model's entry in a table keyed by model ids or their prefixes: the exact id, else the longest prefix. */
export function byModel<T>(model: string, table: Record<string, T>): T | undefined {
  if (Object.hasOwn(table, model)) return table[model];
  let best: string | undefined;
  for (const key of Object.keys(table)) {
    if (model.startsWith(key) && (!best || key.length > best.length)) best = key;
  }
  return best ? table[best] : undefined;
}

export const priceFor = (model: string, table: Record<string, Price>): Price | undefined => byModel(model, table);

/**
 * What a call cost, as the provider bills it: uncached input, cache writes
 * and cache reads each at their price (`inputTokens` counts only the
 * uncached part, for every provider), and the output, thinking included.
 */
export function costOf(model: string, u: Usage, table: Record<string, Price>): number {
  const p = priceFor(model, table);
  if (!p) return 0;
  const cacheRead = p.cacheRead ?? p.input * 0.1;
  const cacheWrite = p.cacheWrite ?? p.input * 1.25;
  return (u.inputTokens * p.input + u.outputTokens * p.output + u.cacheReadTokens * cacheRead + u.cacheWriteTokens * cacheWrite) / 1_000_000;
}

/** What caching saved on a call: its cost had every input token been billed at the input price, minus its cost. Negative when it only wrote. */
export function savedBy(model: string, u: Usage, table: Record<string, Price>): number {
  const p = priceFor(model, table);
  if (!p) return 0;
  const uncached = { ...u, inputTokens: u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens, cacheReadTokens: 0, cacheWriteTokens: 0 };
  return costOf(model, uncached, table) - costOf(model, u, table);
}
