/**
 * A command string is split into words the way a shell would (spaces, '...' and
 * "..." quoting) but nothing a shell would interpret is accepted: no
 * expansion, globbing, redirection, pipes, command lists or substitution.
 */
const SHELL_SYNTAX: [RegExp, string][] = [
  [/[\0-\x08\x0a-\x1f\x7f]/, "control characters (newline, NUL...)"],
  [/\$/, "$ (variable or command substitution)"],
  [/`/, "backticks (command substitution)"],
  [/;/, "; (command list)"],
  [/&/, "& (background or &&)"],
  [/\|/, "| (pipe or ||)"],
  [/[<>]/, "< > (redirection)"],
  [/[(){}]/, "( ) { } (subshell or group)"],
  [/[*?[\]]/, "* ? [ ] (globbing)"],
  [/~/, "~ (home expansion)"],
  [/!/, "! (history expansion)"],
  [/#/, "# (comment)"],
  [/\\/, "\\ (escapes)"],
];

export class CommandSyntaxError extends Error {
  override name = "CommandSyntaxError";
}

/** Splits `date -u` into ["date", "-u"]; throws CommandSyntaxError on any shell syntax. */
export function splitCommand(command: string): string[] {
  for (const [re, what] of SHELL_SYNTAX) {
    if (re.test(command)) throw new CommandSyntaxError(`command: shell syntax is not allowed: ${what}; jobs run without a shell`);
  }
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (const ch of command) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else word += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === " " || ch === "\t") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new CommandSyntaxError(`command: unterminated ${quote} quote`);
  if (inWord) words.push(word);
  if (!words.length) throw new CommandSyntaxError("command: empty");
  return words;
}

/** Control characters have no business in an argument and enable log and header injection. */
export function checkArgv(argv: string[]): void {
  argv.forEach((arg, i) => {
    if (/[\0-\x08\x0a-\x1f\x7f]/.test(arg)) throw new CommandSyntaxError(`argv[${i}]: control characters (newline, NUL...) are not allowed`);
    if (!arg.length) throw new CommandSyntaxError(`argv[${i}]: empty argument`);
  });
}
