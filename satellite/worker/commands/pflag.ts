/**
 * spf13/pflag under cobra, as kubectl reads argv: the first operand names the
 * subcommand (and the next one a sub-subcommand, `top pod`); flags may come
 * anywhere, parents' flags included; long flags match exactly, never by
 * prefix, after kubectl's normalisation of `_` to `-`; `--flag=v` or
 * `--flag v`; a boolean takes no following argument but may take `=false`;
 * shorthands cluster (`-As URL` is `-A -s URL`) and take `-n=ns`, `-nns` or
 * `-n ns`; `--` ends the flags.
 */
import { checkOperands, checkValue, enterSubcommand, type Item, needsSubcommand, notAllowed, type Operand, refuse, show, subcommandPath } from "./common.ts";
import { lookup, type Program, scopeName } from "./grammar.ts";

/** kubectl's WordSepNormalizeFunc: `--insecure_skip_tls_verify` is `--insecure-skip-tls-verify`. */
const normalise = (name: string) => name.replaceAll("_", "-");

export function parsePflag(program: Program, args: string[]): string[] {
  let scope = program.root;
  const items: Item[] = [];
  const operands: Operand[] = [];
  let flagsEnded = false;
  for (let i = 0; i < args.length; i++) {
    const token = args[i]!;
    const at = i + 1;
    if (flagsEnded || token === "-" || !token.startsWith("-")) {
      if (scope.subcommands && !operands.length) scope = enterSubcommand(scope, token, at);
      else operands.push({ value: token, at });
      continue;
    }
    if (token === "--") {
      flagsEnded = true;
      continue;
    }
    if (token.startsWith("--")) {
      const body = token.slice(2);
      if (body.startsWith("-") || body.startsWith("=")) refuse(at, `${show(token)} is not a flag kubectl-style programs read (bad flag syntax)`);
      const eq = body.indexOf("=");
      const name = normalise(eq < 0 ? body : body.slice(0, eq));
      const option = lookup(scope, "long", name);
      if (!option) notAllowed(scope, at, `--${name}`, token);
      if (eq >= 0) items.push({ option, value: checkValue(scope, option, body.slice(eq + 1), at) });
      else if (option.value !== "required") items.push({ option });
      else {
        if (i + 1 >= args.length) refuse(at, `${scopeName(scope)} ${option.label} needs a value`);
        items.push({ option, value: checkValue(scope, option, args[++i]!, i + 1) });
      }
      continue;
    }
    // Shorthands: pflag's parseSingleShortArg, letter by letter.
    let rest = token.slice(1);
    while (rest) {
      const letter = rest[0]!;
      const option = lookup(scope, "short", letter);
      if (!option) notAllowed(scope, at, `-${letter}`, token);
      if (rest.length > 2 && rest[1] === "=") {
        items.push({ option, value: checkValue(scope, option, rest.slice(2), at) });
        rest = "";
      } else if (option.value !== "required") {
        items.push({ option });
        rest = rest.slice(1);
      } else if (rest.length > 1) {
        items.push({ option, value: checkValue(scope, option, rest.slice(1), at) });
        rest = "";
      } else {
        if (i + 1 >= args.length) refuse(at, `${scopeName(scope)} ${option.label} needs a value`);
        items.push({ option, value: checkValue(scope, option, args[++i]!, i + 1) });
        rest = "";
      }
    }
  }
  needsSubcommand(scope, args.length + 1);
  checkOperands(scope, operands, args.length + 1);
  // Subcommands first (cobra finds them by position), then every flag as --name=value, then operands.
  const flags = items.map(({ option, value }) => {
    const name = option.long[0]!;
    if (value !== undefined) return `--${name}=${value}`;
    // A boolean spelled with its value, so a flag's arity can never shift the arguments after it.
    return option.value === "none" ? `--${name}=true` : `--${name}`;
  });
  const words = operands.map((o) => o.value);
  return [...subcommandPath(scope), ...flags, ...(words.some((w) => w.startsWith("-")) ? ["--"] : []), ...words];
}
