/**
 * GNU getopt_long, as glibc reads argv (coreutils, procps' free and uptime,
 * hostname): options and operands in any order (permutation); `--` ends the
 * options; a long option may be any unambiguous prefix of its name and takes
 * its value as `--opt=v` or, when required, `--opt v`; short options cluster
 * (`-As URL` is `-A -s URL`) and take a value attached (`-sVALUE`) or, when
 * required, as the next argument; an optional value is only ever attached.
 */
import { checkOperands, checkValue, type Item, notAllowed, type Operand, refuse, show } from "./common.ts";
import { longNames, lookup, type Option, type Program, type Scope, scopeName } from "./grammar.ts";

/** glibc's long-option lookup: an exact name wins, else a prefix of exactly one option. */
function resolveLong(scope: Scope, name: string, at: number, token: string): Option {
  const exact = lookup(scope, "long", name);
  if (exact) return exact;
  const { allowed, refused } = longNames(scope);
  if (refused.includes(name)) notAllowed(scope, at, `--${name}`, token);
  if (name === "") refuse(at, `${show(token)} names no option`);
  const couldRefuse = refused.filter((r) => r.startsWith(name));
  if (couldRefuse.length) {
    refuse(at, `--${name} could mean --${couldRefuse.join(" or --")}, which ${scopeName(scope)} jobs may not use`);
  }
  const matches = [...new Set(allowed.filter(([n]) => n.startsWith(name)).map(([, o]) => o))];
  if (matches.length > 1) refuse(at, `--${name} is ambiguous for ${scopeName(scope)} (${matches.map((o) => o.label).join(", ")})`);
  if (!matches.length) notAllowed(scope, at, `--${name}`, token);
  return matches[0]!;
}

/** The canonical spelling: the first long name with `=value`, else the first short letter with the value attached. */
function spell({ option, value }: Item): string {
  const long = option.long[0];
  if (long) return value === undefined ? `--${long}` : `--${long}=${value}`;
  return `-${option.short[0]}${value ?? ""}`;
}

export function parseGnu(program: Program, args: string[]): string[] {
  const scope = program.root;
  const items: Item[] = [];
  const operands: Operand[] = [];
  let optionsEnded = false;
  for (let i = 0; i < args.length; i++) {
    const token = args[i]!;
    const at = i + 1;
    if (optionsEnded || token === "-" || !token.startsWith("-")) {
      operands.push({ value: token, at });
      continue;
    }
    if (token === "--") {
      optionsEnded = true;
      continue;
    }
    if (token.startsWith("--")) {
      const eq = token.indexOf("=");
      const name = token.slice(2, eq < 0 ? undefined : eq);
      const option = resolveLong(scope, name, at, token);
      if (eq >= 0) {
        if (option.value === "none") refuse(at, `${scopeName(scope)} ${option.label} takes no value; got ${show(token)}`);
        items.push({ option, value: checkValue(scope, option, token.slice(eq + 1), at) });
      } else if (option.value === "required") {
        if (i + 1 >= args.length) refuse(at, `${scopeName(scope)} ${option.label} needs a value`);
        items.push({ option, value: checkValue(scope, option, args[++i]!, i + 1) });
      } else {
        items.push({ option });
      }
      continue;
    }
    // A cluster of short options: each letter an option until one takes a value.
    for (let j = 1; j < token.length; j++) {
      const letter = token[j]!;
      const option = lookup(scope, "short", letter);
      if (!option) notAllowed(scope, at, `-${letter}`, token);
      if (option.value === "none") {
        items.push({ option });
        continue;
      }
      const rest = token.slice(j + 1);
      if (option.value === "optional") {
        items.push({ option, ...(rest ? { value: checkValue(scope, option, rest, at) } : {}) });
        break;
      }
      if (rest) {
        items.push({ option, value: checkValue(scope, option, rest, at) });
        break;
      }
      if (i + 1 >= args.length) refuse(at, `${scopeName(scope)} ${option.label} needs a value`);
      const value = args[++i]!;
      // Spelled attached, an empty value would leave the option to take the next argument.
      if (!value && !option.long.length) refuse(i + 1, `${scopeName(scope)} ${option.label} needs a non-empty value`);
      items.push({ option, value: checkValue(scope, option, value, i + 1) });
      break;
    }
  }
  checkOperands(scope, operands, args.length + 1);
  const words = operands.map((o) => o.value);
  // getopt permutes, so options first and operands after changes nothing; `--` keeps an operand that starts with a dash one.
  return [...items.map(spell), ...(words.some((w) => w.startsWith("-")) ? ["--"] : []), ...words];
}
