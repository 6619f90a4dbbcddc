/**
 * The grammar of a program command jobs may run: the options it accepts (and
 * how each takes its value), its subcommands, the shape of its operands and
 * the sandbox it runs in. The worker holds one per allowlisted program; the
 * owner adds more under `commands:` in bakerst.json/yaml, or, on a satellite,
 * in the file named by COMMAND_GRAMMARS_FILE. Both binaries validate against
 * these schemas, which is why they live here.
 */
import { type Static, Type } from "@sinclair/typebox";

/** How the program reads its argv: GNU getopt_long, spf13/pflag (kubectl), or procps `ps`. */
export const OPTION_SYNTAXES = ["gnu", "pflag", "procps"] as const;
export type OptionSyntax = (typeof OPTION_SYNTAXES)[number];

const LongName = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$" });
const Letter = Type.String({ pattern: "^[A-Za-z0-9]$" });
/** A regular expression the whole value must match (anchored by the worker). */
const Pattern = Type.String({ minLength: 1, maxLength: 1000 });
const AbsolutePath = Type.String({ pattern: "^/[^\\x00-\\x1f]{0,1023}$" });

export const CommandOptionSpec = Type.Object(
  {
    /** Long names, the first one canonical: `["utc", "universal"]` is `--utc` and `--universal`. */
    long: Type.Optional(Type.Array(LongName, { minItems: 1, maxItems: 8 })),
    /** Short letters, the first one canonical: `["u"]` is `-u`. */
    short: Type.Optional(Type.Array(Letter, { minItems: 1, maxItems: 4 })),
    /** procps only: BSD letters, written without a dash (`ps aux`). */
    bsd: Type.Optional(Type.Array(Type.String({ pattern: "^[A-Za-z]$" }), { minItems: 1, maxItems: 4 })),
    /** none (a flag), required, or optional (gnu: only attached `--x=v`/`-xv`; pflag: `--x` alone or `--x=v`). */
    value: Type.Optional(Type.Union([Type.Literal("none"), Type.Literal("required"), Type.Literal("optional")])),
    /** What a value must look like; required when the option takes one. */
    pattern: Type.Optional(Pattern),
    description: Type.Optional(Type.String({ maxLength: 300 })),
  },
  { additionalProperties: false },
);
export type CommandOptionSpec = Static<typeof CommandOptionSpec>;

export const CommandOperandsSpec = Type.Object(
  {
    min: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
    /** Default 0: no operands at all. */
    max: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
    pattern: Type.Optional(Pattern),
    description: Type.Optional(Type.String({ maxLength: 300 })),
  },
  { additionalProperties: false },
);
export type CommandOperandsSpec = Static<typeof CommandOperandsSpec>;

export const SandboxLimitsSpec = Type.Object(
  {
    cpuSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
    memoryMiB: Type.Optional(Type.Integer({ minimum: 16, maximum: 65536 })),
    fileSizeMiB: Type.Optional(Type.Integer({ minimum: 0, maximum: 65536 })),
    processes: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096 })),
    openFiles: Type.Optional(Type.Integer({ minimum: 16, maximum: 65536 })),
  },
  { additionalProperties: false },
);

/** What a sandboxed program may see beyond the default (a read-only system view, its own processes, no network). */
export const SandboxProfileSpec = Type.Object(
  {
    /** The host's network namespace (kubectl); default none, only a private loopback. */
    network: Type.Optional(Type.Boolean()),
    /** "host": the host's /proc, read-only (ps); "none": no /proc (programs that never read it start faster); default "own": only the sandbox's processes. */
    processes: Type.Optional(Type.Union([Type.Literal("own"), Type.Literal("host"), Type.Literal("none")])),
    /** "host": the host's filesystems read-only with secrets masked (df); default "system": /usr and a few /etc files. */
    filesystems: Type.Optional(Type.Union([Type.Literal("system"), Type.Literal("host")])),
    /** Further host paths bound read-only at the same place. */
    binds: Type.Optional(Type.Array(AbsolutePath, { maxItems: 32 })),
    /** Host files given by content, read-only, at the same path; `$VAR` names files listed in a passed variable (KUBECONFIG). */
    files: Type.Optional(Type.Array(Type.Union([AbsolutePath, Type.String({ pattern: "^\\$[A-Z][A-Z0-9_]{0,63}$" })]), { maxItems: 16 })),
    /** Variables of the worker's environment the program receives (only those the worker passes on). */
    env: Type.Optional(Type.Array(Type.String({ pattern: "^[A-Z][A-Z0-9_]{0,63}$" }), { maxItems: 16 })),
    limits: Type.Optional(SandboxLimitsSpec),
  },
  { additionalProperties: false },
);
export type SandboxProfileSpec = Static<typeof SandboxProfileSpec>;

export const CommandScopeSpec = Type.Recursive((Scope) =>
  Type.Object(
    {
      description: Type.Optional(Type.String({ maxLength: 300 })),
      /** Other names the program accepts for this subcommand (kubectl `top pods`, `po`). */
      aliases: Type.Optional(Type.Array(LongName, { maxItems: 8 })),
      options: Type.Optional(Type.Array(CommandOptionSpec, { maxItems: 128 })),
      /** Long options the program has but jobs may not use: a prefix that could mean one of them is refused. */
      refused: Type.Optional(Type.Array(LongName, { maxItems: 256 })),
      operands: Type.Optional(CommandOperandsSpec),
      /** When present, the first operand must name one of these. */
      subcommands: Type.Optional(Type.Record(LongName, Scope, { additionalProperties: false })),
    },
    { additionalProperties: false },
  ),
);

export const CommandGrammarSpec = Type.Object(
  {
    syntax: Type.Union(OPTION_SYNTAXES.map((s) => Type.Literal(s))),
    description: Type.Optional(Type.String({ maxLength: 300 })),
    options: Type.Optional(Type.Array(CommandOptionSpec, { maxItems: 128 })),
    refused: Type.Optional(Type.Array(LongName, { maxItems: 256 })),
    operands: Type.Optional(CommandOperandsSpec),
    subcommands: Type.Optional(Type.Record(LongName, CommandScopeSpec, { additionalProperties: false })),
    sandbox: Type.Optional(SandboxProfileSpec),
  },
  { additionalProperties: false },
);
export type CommandScopeSpec = Static<typeof CommandScopeSpec>;
export type CommandGrammarSpec = Static<typeof CommandGrammarSpec>;

/** The `commands:` section: program name → grammar. */
export const CommandGrammarsSpec = Type.Record(Type.String({ pattern: "^[a-z0-9][a-z0-9._+-]{0,63}$" }), CommandGrammarSpec, { additionalProperties: false });
export type CommandGrammarsSpec = Static<typeof CommandGrammarsSpec>;
