/** What the three option conventions share: refusals that name the argument, value and operand checks, subcommands. */
import { allowedLabels, type Option, type Scope, scopeName } from "./grammar.ts";

export class CommandRefused extends Error {
  override name = "CommandRefused";
}

/** One accepted option as it was read: which option, its value, and the token it came from. */
export interface Item {
  option: Option;
  value?: string;
  /** procps keeps each option in the style it was written (GNU, UNIX or BSD). */
  style?: "long" | "short" | "bsd";
}

export interface Operand {
  value: string;
  /** Index in the job's argv (argv[0] is the program). */
  at: number;
}

export const show = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s);

export function refuse(at: number, message: string): never {
  throw new CommandRefused(`argv[${at}]: ${message}`);
}

/** An option's name as written, for messages: `--fil`, `-s`, `e`. */
export function notAllowed(scope: Scope, at: number, written: string, token: string): never {
  const inToken = token !== written ? ` (in ${show(token)})` : "";
  refuse(at, `${scopeName(scope)} jobs may not use option ${written}${inToken}; allowed: ${allowedLabels(scope)}`);
}

/** What a value must look like, for a message: the pattern, or its description where the pattern is long. */
function expected(pattern: RegExp, description: string | undefined): string {
  const source = pattern.source.slice("^(?:".length, -")$".length);
  return source.length <= 100 || !description ? `must match ${source}` : `expected: ${description}`;
}

export function checkValue(scope: Scope, option: Option, value: string, at: number): string {
  if (option.pattern && !option.pattern.test(value)) {
    refuse(at, `${scopeName(scope)} ${option.label} value ${show(value)} is not allowed (${expected(option.pattern, option.description)})`);
  }
  return value;
}

/** The operands a scope takes: how many, and what each must look like. */
export function checkOperands(scope: Scope, operands: Operand[], argc: number): void {
  const { min, max, pattern } = scope.operands;
  const name = scopeName(scope);
  if (operands.length > max) {
    const extra = operands[max]!;
    refuse(extra.at, max === 0 ? `${name} takes no operands; got ${show(extra.value)}` : `${name} takes at most ${max} operand${max === 1 ? "" : "s"}; got ${show(extra.value)}`);
  }
  if (operands.length < min) refuse(argc, `${name} needs at least ${min} operand${min === 1 ? "" : "s"}`);
  for (const o of operands) {
    if (pattern && !pattern.test(o.value)) refuse(o.at, `${name} operand ${show(o.value)} is not allowed (${expected(pattern, scope.operands.description)})`);
  }
}

/** Picks the subcommand an operand names, or refuses naming the ones allowed. */
export function enterSubcommand(scope: Scope, word: string, at: number): Scope {
  const sub = scope.subcommands!.get(word);
  if (!sub) refuse(at, `${scopeName(scope)} allows only the subcommands ${[...new Set([...scope.subcommands!.values()].map((s) => s.name))].join(", ")}; got ${show(word)}`);
  return sub;
}

/** The path of subcommand names from the program down to `scope`. */
export function subcommandPath(scope: Scope): string[] {
  const names: string[] = [];
  for (let s: Scope | undefined = scope; s?.parent; s = s.parent) names.unshift(s.name);
  return names;
}

export function needsSubcommand(scope: Scope, argc: number): void {
  if (scope.subcommands) refuse(argc, `${scopeName(scope)} needs a subcommand: ${[...new Set([...scope.subcommands.values()].map((s) => s.name))].join(", ")}`);
}
