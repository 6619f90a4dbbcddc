/**
 * Reads a job's argv the way the program will, by the program's own option
 * convention, and answers the canonical argv that runs instead: every option
 * by its full canonical name with its value attached, operands last. The
 * program never sees a prefix, a cluster or a value it could read another
 * way, so what the policy accepted is exactly what runs.
 */

import { parseGnu } from "./gnu.ts";
import type { Program } from "./grammar.ts";
import { parsePflag } from "./pflag.ts";
import { parseProcps } from "./procps.ts";

export { CommandRefused } from "./common.ts";

/** The canonical argv (without the program) for `args`, or a CommandRefused naming the argument. */
export function parseCommand(program: Program, args: string[]): string[] {
  switch (program.syntax) {
    case "gnu":
      return parseGnu(program, args);
    case "pflag":
      return parsePflag(program, args);
    case "procps":
      return parseProcps(program, args);
  }
}
