import type { CommandGrammarSpec } from "../../../../core/protocol/index.ts";
import { HELP_VERSION } from "./shared.ts";

/** GNU id: who a user is. In the sandbox the job runs as nobody (65534) when the worker runs as root, and says so. */
export const id: CommandGrammarSpec = {
  syntax: "gnu",
  description: "user and group ids",
  options: [
    { short: ["a"], description: "ignored" },
    { short: ["Z"], long: ["context"] },
    { short: ["g"], long: ["group"] },
    { short: ["G"], long: ["groups"] },
    { short: ["n"], long: ["name"] },
    { short: ["r"], long: ["real"] },
    { short: ["u"], long: ["user"] },
    { short: ["z"], long: ["zero"] },
    ...HELP_VERSION,
  ],
  operands: { max: 4, pattern: "[a-z_][a-z0-9_-]{0,31}\\$?|[0-9]{1,10}", description: "user names or ids" },
  sandbox: { processes: "none" },
};
