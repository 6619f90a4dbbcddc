/**
 * A program's grammar, compiled from its spec (core/protocol/grammar.ts):
 * option tables per scope, anchored value patterns, subcommands. Every spec
 * error names its path (`kubectl.subcommands.get.options.3.pattern`) so a bad
 * `commands:` entry in the config says where it is.
 */
import type { CommandGrammarSpec, CommandOperandsSpec, CommandOptionSpec, CommandScopeSpec, OptionSyntax, SandboxProfileSpec } from "../../../core/protocol/index.ts";

export class GrammarError extends Error {
  override name = "GrammarError";
  constructor(
    /** Where in the grammar, e.g. `date.options.2.pattern`. */
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

export type ValueKind = "none" | "required" | "optional";

export interface Option {
  long: string[];
  short: string[];
  bsd: string[];
  value: ValueKind;
  pattern?: RegExp;
  /** How messages name it: `-u/--utc`. */
  label: string;
  description?: string;
}

export interface Operands {
  min: number;
  max: number;
  pattern?: RegExp;
  description?: string;
}

export interface Scope {
  /** The name the program is given for this scope (`kubectl`, then `get`); aliases map to it. */
  name: string;
  parent?: Scope;
  options: Option[];
  long: Map<string, Option>;
  short: Map<string, Option>;
  bsd: Map<string, Option>;
  refused: string[];
  operands: Operands;
  subcommands?: Map<string, Scope>;
}

export interface Program {
  name: string;
  syntax: OptionSyntax;
  root: Scope;
  sandbox: SandboxProfileSpec;
}

/** Programs that run other programs: no grammar makes them safe to allowlist. */
export const RUNS_OTHER_PROGRAMS = [
  "sh",
  "bash",
  "dash",
  "zsh",
  "ksh",
  "fish",
  "env",
  "sudo",
  "su",
  "doas",
  "xargs",
  "nohup",
  "nice",
  "timeout",
  "busybox",
  "python",
  "python3",
  "perl",
  "ruby",
  "node",
  "bun",
  "deno",
  "awk",
  "gawk",
  "find",
  "strace",
  "chroot",
  "setpriv",
  "prlimit",
  "bwrap",
];

/** A bare program name in plain ASCII: no paths, no look-alike letters. */
export const PROGRAM_NAME = /^[a-z0-9][a-z0-9._+-]{0,63}$/;

/** pflag's strconv.ParseBool spellings, the values a boolean flag takes after `=`. */
const PFLAG_BOOL = /^(?:1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/;

function regex(path: string, source: string): RegExp {
  try {
    // Anchored: the pattern describes the whole value, never a part of it.
    return new RegExp(`^(?:${source})$`, "u");
  } catch (err) {
    throw new GrammarError(path, `a valid regular expression (${(err as Error).message})`);
  }
}

function compileOption(syntax: OptionSyntax, spec: CommandOptionSpec, path: string): Option {
  const long = spec.long ?? [];
  const short = spec.short ?? [];
  const bsd = spec.bsd ?? [];
  const value = spec.value ?? "none";
  if (!long.length && !short.length && !bsd.length) throw new GrammarError(path, "a long, short or bsd name for the option");
  if (bsd.length && syntax !== "procps") throw new GrammarError(`${path}.bsd`, "no BSD letters outside the procps syntax");
  if (syntax === "pflag" && !long.length) throw new GrammarError(`${path}.long`, "a long name (every pflag option has one)");
  if (syntax === "procps" && value === "optional") throw new GrammarError(`${path}.value`, "none or required (procps has no optional values)");
  if (value !== "none" && !spec.pattern) throw new GrammarError(`${path}.pattern`, "a pattern for the option's value");
  if (value === "none" && spec.pattern && syntax !== "pflag") throw new GrammarError(`${path}.pattern`, "no pattern (the option takes no value)");
  const pattern = spec.pattern ? regex(`${path}.pattern`, spec.pattern) : syntax === "pflag" && value === "none" ? PFLAG_BOOL : undefined;
  const label = [...short.map((s) => `-${s}`), ...long.map((l) => `--${l}`), ...bsd].slice(0, 3).join("/");
  return { long, short, bsd, value, ...(pattern ? { pattern } : {}), label, ...(spec.description ? { description: spec.description } : {}) };
}

function compileOperands(spec: CommandOperandsSpec | undefined, path: string): Operands {
  const min = spec?.min ?? 0;
  const max = spec?.max ?? 0;
  if (min > max) throw new GrammarError(`${path}.min`, `at most max (${max}), got ${min}`);
  if (max > 0 && !spec?.pattern) throw new GrammarError(`${path}.pattern`, "a pattern for the operands");
  return { min, max, ...(spec?.pattern ? { pattern: regex(`${path}.pattern`, spec.pattern) } : {}), ...(spec?.description ? { description: spec.description } : {}) };
}

/** Each name resolves to one option across a scope and its ancestors (pflag's persistent flags). */
function index(scope: Scope, path: string): void {
  scope.options.forEach((opt, i) => {
    const add = (map: keyof Pick<Scope, "long" | "short" | "bsd">, names: string[], what: string) => {
      for (const n of names) {
        for (let s: Scope | undefined = scope; s; s = s.parent) {
          if (s[map].has(n)) throw new GrammarError(`${path}.options.${i}.${map}`, `${what}${n} declared once, not twice`);
        }
        scope[map].set(n, opt);
      }
    };
    add("long", opt.long, "--");
    add("short", opt.short, "-");
    add("bsd", opt.bsd, "");
  });
  scope.refused.forEach((name, i) => {
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      if (s.long.has(name)) throw new GrammarError(`${path}.refused.${i}`, `--${name} either allowed or refused, not both`);
    }
  });
}

function compileScope(syntax: OptionSyntax, name: string, spec: CommandScopeSpec | CommandGrammarSpec, path: string, parent?: Scope): Scope {
  const scope: Scope = {
    name,
    ...(parent ? { parent } : {}),
    options: (spec.options ?? []).map((o, i) => compileOption(syntax, o, `${path}.options.${i}`)),
    long: new Map(),
    short: new Map(),
    bsd: new Map(),
    refused: spec.refused ?? [],
    operands: compileOperands(spec.operands, `${path}.operands`),
  };
  index(scope, path);
  if (spec.subcommands) {
    // Only cobra programs are known to read subcommands and their options the pflag way; a getopt program's subcommand re-parses its own argv.
    if (syntax !== "pflag") throw new GrammarError(`${path}.subcommands`, "no subcommands outside the pflag syntax");
    if (spec.operands) throw new GrammarError(`${path}.operands`, "no operands beside subcommands (each subcommand has its own)");
    scope.subcommands = new Map();
    for (const [sub, subSpec] of Object.entries(spec.subcommands)) {
      const child = compileScope(syntax, sub, subSpec, `${path}.subcommands.${sub}`, scope);
      for (const n of [sub, ...((subSpec as CommandScopeSpec).aliases ?? [])]) {
        if (scope.subcommands.has(n)) throw new GrammarError(`${path}.subcommands.${sub}`, `${n} named once, not twice`);
        scope.subcommands.set(n, child);
      }
    }
  }
  return scope;
}

/** Compiles one program's grammar; throws a GrammarError naming the path of the first problem. */
export function compileGrammar(name: string, spec: CommandGrammarSpec): Program {
  if (!PROGRAM_NAME.test(name)) throw new GrammarError(name, "a bare program name (a-z, 0-9, . _ + -)");
  if (RUNS_OTHER_PROGRAMS.includes(name)) throw new GrammarError(name, `a program that runs no other programs (${name} does, so it cannot be allowlisted)`);
  const program: Program = { name, syntax: spec.syntax, root: compileScope(spec.syntax, name, spec, name), sandbox: spec.sandbox ?? {} };
  if (spec.syntax === "procps") assertProcpsFallbackSafe(program.root, name);
  return program;
}

/**
 * procps re-reads every argument as BSD options when its first reading fails
 * (an unknown user, a conflict), and then a dash-option's letters mean their
 * BSD selves: `-ex` becomes `e` (print every environment) plus `x`. The
 * canonical spelling of a dash option must therefore never be a letter that,
 * read as BSD, shows environments or reads a file.
 */
export const PROCPS_DANGEROUS_BSD = ["e", "N"];
function assertProcpsFallbackSafe(scope: Scope, path: string): void {
  scope.options.forEach((o, i) => {
    const canonical = o.short[0];
    if (canonical && PROCPS_DANGEROUS_BSD.includes(canonical)) {
      throw new GrammarError(`${path}.options.${i}.short`, `a first spelling other than -${canonical}, which ps reads as BSD ${canonical} when it falls back to BSD parsing`);
    }
    for (const b of o.bsd) {
      if (PROCPS_DANGEROUS_BSD.includes(b)) throw new GrammarError(`${path}.options.${i}.bsd`, `no BSD ${b} (it shows environments or reads a file)`);
    }
  });
}

/** Looks a name up in a scope and then its ancestors. */
export function lookup(scope: Scope, map: "long" | "short" | "bsd", name: string): Option | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const o = s[map].get(name);
    if (o) return o;
  }
  return undefined;
}

/** Every long name a scope (and its ancestors) allows, and every one it refuses. */
export function longNames(scope: Scope): { allowed: [string, Option][]; refused: string[] } {
  const allowed: [string, Option][] = [];
  const refused: string[] = [];
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    allowed.push(...s.long);
    refused.push(...s.refused);
  }
  return { allowed, refused };
}

/** The option labels a scope allows, for refusal messages that help the caller rephrase. */
export function allowedLabels(scope: Scope): string {
  const labels: string[] = [];
  for (let s: Scope | undefined = scope; s; s = s.parent) labels.push(...s.options.map((o) => o.label));
  return labels.length ? labels.join(", ") : "none";
}

/** `kubectl get` for messages. */
export function scopeName(scope: Scope): string {
  const names: string[] = [];
  for (let s: Scope | undefined = scope; s; s = s.parent) names.unshift(s.name);
  return names.join(" ");
}
