import type { CommandGrammarSpec } from "../../../../core/protocol/index.ts";
import { HELP_VERSION } from "./shared.ts";

/** GNU whoami: the user the job runs as (nobody in the sandbox when the worker runs as root). */
export const whoami: CommandGrammarSpec = { syntax: "gnu", description: "the job's user", options: [...HELP_VERSION], sandbox: { processes: "none" } };
