/** Pieces several default grammars share. */
import type { CommandOptionSpec } from "../../../../core/protocol/index.ts";

/** An absolute path: the sandbox's working directory is `/`, so nothing is lost by asking for one. */
export const ABSOLUTE_PATH = "/[^\\x00-\\x1f]{0,1023}";

/** `--help` and `--version`: harmless everywhere. */
export const HELP_VERSION: CommandOptionSpec[] = [
  { long: ["help"], description: "usage text" },
  { long: ["version"], description: "version text" },
];
