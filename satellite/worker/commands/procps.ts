/**
 * procps-ng `ps`, as its parser.c reads argv: an argument starting with a
 * letter is a cluster of BSD options (`aux`), with one dash a cluster of UNIX
 * options (`-ef`), with two dashes and a letter a GNU long option matched by
 * its exact name (`--sort=-%cpu`, `--sort:-%cpu`, `--sort -%cpu`); a value is
 * the rest of the cluster or the next (non-empty) argument; bare numbers
 * (`ps 1`, `-1`, `+1`) are process lists. Options keep their style in the
 * canonical argv, since BSD and UNIX letters mean different things.
 */
import { checkValue, type Item, notAllowed, refuse, show } from "./common.ts";
import { lookup, PROCPS_DANGEROUS_BSD, type Program, scopeName } from "./grammar.ts";

type Kind = "bsd" | "short" | "long" | "pids" | "garbage";

/** parser.c's arg_type. */
function kind(token: string): Kind {
  const letter = (c: string | undefined) => !!c && /^[A-Za-z]$/.test(c);
  const digit = (c: string | undefined) => !!c && /^[0-9]$/.test(c);
  if (letter(token[0])) return "bsd";
  if (digit(token[0]) || token[0] === "+") return "pids";
  if (token[0] !== "-") return "garbage";
  if (letter(token[1])) return "short";
  if (digit(token[1])) return "pids";
  if (token[1] !== "-") return "garbage";
  return letter(token[2]) ? "long" : "garbage";
}

function spell({ option, value, style }: Item): string[] {
  if (style === "long") return [value === undefined ? `--${option.long[0]}` : `--${option.long[0]}=${value}`];
  const flag = style === "bsd" ? option.bsd[0]! : `-${option.short[0]}`;
  // Separate, so the value is read the same whether ps parses the flag as UNIX or, after a failure, as BSD.
  return value === undefined ? [flag] : [flag, value];
}

export function parseProcps(program: Program, args: string[]): string[] {
  const scope = program.root;
  const items: Item[] = [];
  for (let i = 0; i < args.length; i++) {
    const token = args[i]!;
    const at = i + 1;
    switch (kind(token)) {
      case "pids":
        return refuse(at, `${show(token)}: ps jobs name processes with -p PID,...; bare process, group and session lists are not accepted`);
      case "garbage":
        return refuse(at, `${show(token)} is not a ps option`);
      case "long": {
        const sep = token.slice(2).search(/[:=]/);
        const name = sep < 0 ? token.slice(2) : token.slice(2, 2 + sep);
        const option = lookup(scope, "long", name);
        if (!option) notAllowed(scope, at, `--${name}`, token);
        if (option.value === "none") {
          if (sep >= 0) refuse(at, `${scopeName(scope)} ${option.label} takes no value; got ${show(token)}`);
          items.push({ option, style: "long" });
        } else if (sep >= 0) {
          items.push({ option, style: "long", value: checkValue(scope, option, token.slice(3 + sep), at) });
        } else {
          if (i + 1 >= args.length || !args[i + 1]) refuse(at, `${scopeName(scope)} ${option.label} needs a value`);
          items.push({ option, style: "long", value: checkValue(scope, option, args[++i]!, i + 1) });
        }
        break;
      }
      case "short":
      case "bsd": {
        const style = kind(token) === "bsd" ? "bsd" : "short";
        const letters = style === "bsd" ? token : token.slice(1);
        for (let j = 0; j < letters.length; j++) {
          const letter = letters[j]!;
          const option = lookup(scope, style, letter);
          if (!option) notAllowed(scope, at, style === "bsd" ? letter : `-${letter}`, token);
          if (option.value === "none") {
            items.push({ option, style });
            continue;
          }
          const rest = letters.slice(j + 1);
          if (rest) items.push({ option, style, value: checkValue(scope, option, rest, at) });
          else {
            if (i + 1 >= args.length || !args[i + 1]) refuse(at, `${scopeName(scope)} ${option.label} needs a value`);
            items.push({ option, style, value: checkValue(scope, option, args[++i]!, i + 1) });
          }
          break;
        }
        break;
      }
    }
  }
  // Belt and braces for the fallback described in grammar.ts: no emitted flag reads as BSD `e` or `N`.
  for (const { option, style } of items) {
    const letter = style === "bsd" ? option.bsd[0] : style === "short" ? option.short[0] : undefined;
    if (letter && PROCPS_DANGEROUS_BSD.includes(letter)) refuse(0, `ps would read ${letter} as a BSD option that shows environments or reads a file`);
  }
  return items.flatMap(spell);
}
