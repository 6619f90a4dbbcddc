import { byModel } from "./prices.ts";

/**
 * Context windows in tokens. A dated model id takes the window of its longest
 * matching prefix, like prices. Claude models take 200k unless listed; an
 * OpenAI-compatible model nobody listed is assumed small, since local
 * servers often run with a short window: set `models.contextTokens` in the
 * config file for yours.
 */
export const DEFAULT_CONTEXT_TOKENS: Record<string, number> = {
  claude: 200_000,
  "gpt-4o": 128_000,
  "gpt-4.1": 1_000_000,
  "gpt-5": 400_000,
};
export const UNKNOWN_CONTEXT_TOKENS = 32_000;

export const contextTokensFor = (model: string, table: Record<string, number>): number => byModel(model, table) ?? UNKNOWN_CONTEXT_TOKENS;
