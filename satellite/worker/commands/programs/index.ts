/** The grammars of the programs command jobs may run by default, one file each. */
import type { CommandGrammarSpec } from "../../../../core/protocol/index.ts";
import { date } from "./date.ts";
import { df } from "./df.ts";
import { free } from "./free.ts";
import { hostname } from "./hostname.ts";
import { id } from "./id.ts";
import { kubectl } from "./kubectl.ts";
import { ls } from "./ls.ts";
import { ps } from "./ps.ts";
import { uname } from "./uname.ts";
import { uptime } from "./uptime.ts";
import { whoami } from "./whoami.ts";

export const DEFAULT_GRAMMARS: Record<string, CommandGrammarSpec> = { uptime, df, date, uname, free, ls, ps, hostname, whoami, id, kubectl };
