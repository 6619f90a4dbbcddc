/**
 * Grammars for programs the default set leaves out, which tests use to make
 * a job sleep, fail, print a lot or print its environment. They go where an
 * owner's would: `commands:` in the data dir's bakerst.json, or the file
 * COMMAND_GRAMMARS_FILE names on a satellite.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CommandGrammarsSpec } from "../../core/protocol/index.ts";
import { tempDir } from "./app.ts";

export const TEST_GRAMMARS: CommandGrammarsSpec = {
  sleep: { syntax: "gnu", operands: { min: 1, max: 1, pattern: "[0-9]{1,4}(?:\\.[0-9]{1,3})?" } },
  false: { syntax: "gnu" },
  seq: { syntax: "gnu", operands: { min: 1, max: 3, pattern: "[0-9]{1,9}" } },
  printenv: { syntax: "gnu", operands: { max: 8, pattern: "[A-Z_]{1,64}" } },
  // echo reads no options past the first operand and no `--`: operands must not start with a dash.
  echo: { syntax: "gnu", operands: { max: 64, pattern: "[^-][^\\x00-\\x1f]{0,1000}" } },
};

/** A data dir whose bakerst.json declares these grammars. */
export function dataDirWithCommands(commands: CommandGrammarsSpec = TEST_GRAMMARS, dir = tempDir()): string {
  writeFileSync(join(dir, "bakerst.json"), JSON.stringify({ commands }));
  return dir;
}

/** A COMMAND_GRAMMARS_FILE for a satellite. */
export function grammarsFile(commands: CommandGrammarsSpec = TEST_GRAMMARS, dir = tempDir()): string {
  const path = join(dir, "grammars.json");
  writeFileSync(path, JSON.stringify(commands));
  return path;
}
