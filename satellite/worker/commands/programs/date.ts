import type { CommandGrammarSpec } from "../../../../core/protocol/index.ts";
import { HELP_VERSION } from "./shared.ts";

/**
 * GNU date (coreutils 9): show the date, in any format, of any described
 * moment. Never set it (`-s/--set`, or an MMDDhhmm operand), never read a file
 * (`-f/--file` echoes the lines it cannot parse, `-r/--reference` stats any
 * path). A `-d` string cannot name a time-zone file: it has no quotes, so no
 * `TZ="..."` prefix.
 */
export const date: CommandGrammarSpec = {
  syntax: "gnu",
  description: "show the date and time",
  options: [
    {
      short: ["d"],
      long: ["date"],
      value: "required",
      pattern: "[A-Za-z0-9 :+.,/@_-]{1,100}",
      description: "describe the moment to show: 'yesterday', '2 hours ago', '@1700000000'",
    },
    { long: ["debug"], description: "annotate how the date string was read" },
    { short: ["I"], long: ["iso-8601"], value: "optional", pattern: "date|hours|minutes|seconds|ns", description: "ISO 8601 output" },
    { short: ["R"], long: ["rfc-email", "rfc-822", "rfc-2822"], description: "RFC 5322 output" },
    { long: ["rfc-3339"], value: "required", pattern: "date|seconds|ns", description: "RFC 3339 output" },
    { long: ["resolution"], description: "timestamp resolution" },
    { short: ["u"], long: ["utc", "universal", "uct"], description: "UTC" },
    ...HELP_VERSION,
  ],
  refused: ["file", "reference", "set"],
  operands: { max: 1, pattern: "\\+[^\\x00-\\x1f]{0,200}", description: "+FORMAT only: an MMDDhhmm operand sets the clock" },
  sandbox: { processes: "none" },
};
