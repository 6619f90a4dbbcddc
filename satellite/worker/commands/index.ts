/**
 * Which programs command jobs may run, each with its grammar: the defaults in
 * programs/, the owner's own grammars on top (same name replaces a default),
 * narrowed by COMMAND_ALLOWLIST (`uptime,df,kubectl:get|describe`).
 */
import type { CommandGrammarsSpec } from "../../../core/protocol/index.ts";
import { compileGrammar, PROGRAM_NAME, type Program, RUNS_OTHER_PROGRAMS, type Scope } from "./grammar.ts";
import { DEFAULT_GRAMMARS } from "./programs/index.ts";

export { GrammarError, PROGRAM_NAME, type Program } from "./grammar.ts";
export { CommandRefused, parseCommand } from "./parse.ts";
export { DEFAULT_GRAMMARS } from "./programs/index.ts";

/** Thrown for a bad COMMAND_ALLOWLIST entry; the message starts with the key. */
export class AllowlistError extends Error {
  override name = "AllowlistError";
  constructor(reason: string) {
    super(`COMMAND_ALLOWLIST: ${reason}`);
  }
}

/** Compiles every grammar, the owner's over the defaults; a GrammarError names `<program>.<path>`. */
export function compileGrammars(owner: CommandGrammarsSpec = {}): Map<string, Program> {
  const all = new Map<string, Program>();
  for (const [name, spec] of Object.entries({ ...DEFAULT_GRAMMARS, ...owner })) all.set(name, compileGrammar(name, spec));
  return all;
}

/** The programs `spec` selects from `known` (all of them when unset), subcommands narrowed where it says `prog:a|b`. */
export function selectPrograms(spec: string | undefined, known: Map<string, Program>): Map<string, Program> {
  if (spec === undefined) return known;
  const chosen = new Map<string, Program>();
  for (const raw of spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name = "", subs] = raw.split(":", 2);
    if (!PROGRAM_NAME.test(name)) throw new AllowlistError(`${JSON.stringify(name)} is not a bare program name`);
    if (RUNS_OTHER_PROGRAMS.includes(name)) throw new AllowlistError(`${name} runs other programs and cannot be allowlisted`);
    const program = known.get(name);
    if (!program) {
      throw new AllowlistError(
        `${name} has no grammar (known: ${[...known.keys()].join(", ")}); describe it under commands: in bakerst.json, or in COMMAND_GRAMMARS_FILE on a satellite`,
      );
    }
    if (!subs) {
      chosen.set(name, program);
      continue;
    }
    const all = program.root.subcommands;
    if (!all) throw new AllowlistError(`${name} has no subcommands to choose from`);
    const narrowed = new Map<string, Scope>();
    for (const sub of subs
      .split("|")
      .map((s) => s.trim())
      .filter(Boolean)) {
      const scope = all.get(sub);
      if (!scope) throw new AllowlistError(`${name} has no subcommand ${JSON.stringify(sub)} (${[...new Set([...all.values()].map((s) => s.name))].join(", ")})`);
      // The subcommand's aliases come along: `top` allows `top pods` as kubectl does.
      for (const [alias, s] of all) if (s === scope) narrowed.set(alias, s);
    }
    chosen.set(name, { ...program, root: { ...program.root, subcommands: narrowed } });
  }
  if (!chosen.size) throw new AllowlistError("names no program");
  return chosen;
}
