import type { CommandGrammarSpec } from "../../../../core/protocol/index.ts";

/** procps uptime: time since boot and load averages (from /proc, which a new PID namespace still shows for the host). */
export const uptime: CommandGrammarSpec = {
  syntax: "gnu",
  description: "uptime and load averages",
  options: [
    { short: ["p"], long: ["pretty"], description: "uptime in words" },
    { short: ["s"], long: ["since"], description: "boot time" },
    { short: ["h"], long: ["help"] },
    { short: ["V"], long: ["version"] },
  ],
};
