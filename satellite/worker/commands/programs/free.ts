import type { CommandGrammarSpec } from "../../../../core/protocol/index.ts";

/** procps free: memory and swap, read from /proc/meminfo. No repeating (`-s`, `-c`): a job answers once. */
export const free: CommandGrammarSpec = {
  syntax: "gnu",
  description: "memory and swap use",
  options: [
    { short: ["b"], long: ["bytes"] },
    { long: ["kilo"] },
    { long: ["mega"] },
    { long: ["giga"] },
    { long: ["tera"] },
    { long: ["peta"] },
    { short: ["k"], long: ["kibi"] },
    { short: ["m"], long: ["mebi"] },
    { short: ["g"], long: ["gibi"] },
    { long: ["tebi"] },
    { long: ["pebi"] },
    { short: ["h"], long: ["human"], description: "human-readable sizes" },
    { long: ["si"], description: "powers of 1000" },
    { short: ["l"], long: ["lohi"], description: "low and high memory" },
    { short: ["t"], long: ["total"], description: "RAM + swap total" },
    { short: ["v"], long: ["committed"], description: "committed memory" },
    { short: ["w"], long: ["wide"], description: "wide output" },
    { long: ["help"] },
    { short: ["V"], long: ["version"] },
  ],
  refused: ["seconds", "count"],
};
