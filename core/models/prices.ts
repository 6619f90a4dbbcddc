import type { Price } from "../config/index.ts";
import type { Usage } from "../agent/types.ts";

/**
 * List prices in USD per million tokens. A dated model id ("claude-sonnet-4-5-20250929")
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
  "gpt-4o": { input: 2.5, output: 10 },
  "gpt-4o-mini": { input: 0.15, output: 0.6 },
};

export function priceFor(model: string, table: Record<string, Price>): Price | undefined {
  if (table[model]) return table[model];
  let best: string | undefined;
  for (const key of Object.keys(table)) {
    if (model.startsWith(key) && (!best || key.length > best.length)) best = key;
  }
  return best ? table[best] : undefined;
}

export function costOf(model: string, u: Usage, table: Record<string, Price>): number {
  const p = priceFor(model, table);
  if (!p) return 0;
  const cacheRead = p.cacheRead ?? p.input * 0.1;
  const cacheWrite = p.cacheWrite ?? p.input * 1.25;
  return (u.inputTokens * p.input + u.outputTokens * p.output + u.cacheReadTokens * cacheRead + u.cacheWriteTokens * cacheWrite) / 1_000_000;
}
