import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { longNames, type Option, type Scope } from "../../satellite/worker/commands/grammar.ts";
import { CommandRefused, compileGrammars, type Program, parseCommand, selectPrograms } from "../../satellite/worker/commands/index.ts";

/**
 * Generated spellings of refused options, in every form the programs
 * themselves would read as that option (prefixes, `=` and space values,
 * clusters, attached values, kubectl's `_`, other cases), for every default
 * program: none gets through. And whatever does get through comes out in a
 * canonical form that reads back as itself.
 */
const programs = selectPrograms(undefined, compileGrammars());
const RUNS = { numRuns: 300 };

/** Up to n of the items, in order. */
const upTo = <T>(items: T[], n: number) => fc.subarray(items, { maxLength: Math.min(n, items.length) });

/** The canonical argv, or undefined when the grammar refuses. */
function accepted(program: Program, argv: string[]): string[] | undefined {
  try {
    return parseCommand(program, argv);
  } catch (err) {
    if (err instanceof CommandRefused) return undefined;
    throw err;
  }
}
const refused = (program: Program, argv: string[]) => accepted(program, argv) === undefined;

/** Scopes of a program: the root, then each subcommand path (kubectl get, kubectl top pod...). */
function scopes(program: Program): { path: string[]; scope: Scope }[] {
  const out: { path: string[]; scope: Scope }[] = [{ path: [], scope: program.root }];
  const walk = (scope: Scope, path: string[]) => {
    for (const [name, sub] of scope.subcommands ?? []) {
      if (name !== sub.name) continue;
      out.push({ path: [...path, name], scope: sub });
      walk(sub, [...path, name]);
    }
  };
  walk(program.root, []);
  // A scope with subcommands takes none of its own operands: test the leaves and the root's flags before a verb.
  return out.filter(({ scope, path }) => !scope.subcommands || path.length === 0);
}

function chain(scope: Scope): Option[] {
  const all: Option[] = [];
  for (let s: Scope | undefined = scope; s; s = s.parent) all.push(...s.options);
  return all;
}

/** Allowed flags (no value) spelled canonically, to surround the attack with. */
function noise(program: Program, scope: Scope): fc.Arbitrary<string[]> {
  const flags = chain(scope)
    .filter((o) => o.value === "none" && !(program.syntax === "procps" && !o.short.length))
    .map((o) => (o.long[0] ? `--${o.long[0]}` : `-${o.short[0]}`));
  return flags.length ? upTo(flags, 3) : fc.constant([]);
}

/** Letters the scope does not allow as short options. */
function refusedLetters(scope: Scope): string[] {
  const allowed = new Set(chain(scope).flatMap((o) => o.short));
  return [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"].filter((c) => !allowed.has(c));
}

const value = fc.oneof(
  fc.constantFrom("/etc/shadow", "http://127.0.0.1:9", "x", "2001-01-01", "0"),
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => ![...s].some((c) => c.charCodeAt(0) < 0x20)),
);

/** The long options the programs have that jobs must never reach, beyond each grammar's own `refused` list. */
const KUBECTL_REFUSED = [
  "server",
  "kubeconfig",
  "token",
  "insecure-skip-tls-verify",
  "profile",
  "profile-output",
  "as",
  "as-group",
  "as-uid",
  "cache-dir",
  "certificate-authority",
  "client-certificate",
  "client-key",
  "cluster",
  "context",
  "user",
  "username",
  "password",
  "tls-server-name",
  "v",
  "vmodule",
  "log-file",
  "log-dir",
  "filename",
  "kustomize",
  "recursive",
  "raw",
  "template",
  "watch",
  "follow",
];

const gnu = [...programs.values()].filter((p) => p.syntax === "gnu");

describe("Commands.properties (GNU getopt_long)", () => {
  for (const program of gnu) {
    const { scope } = scopes(program)[0]!;
    const { allowed, refused: names } = longNames(scope);
    const exact = new Set(allowed.map(([n]) => n));
    if (names.length) {
      test(`${program.name}: every spelling of --${names.join(", --")} is refused`, () => {
        const spelling = fc
          .tuple(fc.constantFrom(...names), fc.nat(), fc.constantFrom("bare", "eq", "space"), value, noise(program, scope), noise(program, scope))
          .map(([name, cut, form, v, before, after]) => {
            // Any prefix getopt would resolve to the refused name: not an exact allowed name.
            const prefix = name.slice(0, 1 + (cut % name.length));
            return { prefix, argv: [...before, ...(form === "eq" ? [`--${prefix}=${v}`] : form === "space" ? [`--${prefix}`, v] : [`--${prefix}`]), ...after] };
          })
          .filter(({ prefix }) => !exact.has(prefix));
        fc.assert(
          fc.property(spelling, ({ argv }) => refused(program, argv)),
          RUNS,
        );
      });
    }

    test(`${program.name}: every short letter outside the grammar is refused, alone, clustered or with a value`, () => {
      const letters = refusedLetters(scope);
      const flagLetters = chain(scope)
        .filter((o) => o.value === "none" && o.short.length)
        .map((o) => o.short[0]!);
      const spelling = fc.tuple(fc.constantFrom(...letters), upTo(flagLetters, 3), fc.constantFrom("", "attached", "next"), value).map(([bad, lead, form, v]) => {
        const token = `-${lead.join("")}${bad}${form === "attached" ? v : ""}`;
        return form === "next" ? [token, v] : [token];
      });
      fc.assert(
        fc.property(spelling, (argv) => refused(program, argv)),
        RUNS,
      );
    });

    test(`${program.name}: a long name in another case is refused`, () => {
      const names = allowed.map(([n]) => n).filter((n) => n.toLowerCase() !== n.toUpperCase());
      const spelling = fc.mixedCase(fc.constantFrom(...names)).filter((n) => !exact.has(n) && !allowed.some(([a]) => a.startsWith(n)));
      fc.assert(
        fc.property(spelling, (n) => refused(program, [`--${n}`])),
        RUNS,
      );
    });
  }
});

describe("Commands.properties (kubectl, pflag)", () => {
  const kubectl = programs.get("kubectl")!;
  const leaves = scopes(kubectl);
  const where = fc.constantFrom(...leaves.filter((l) => l.path.length > 0));
  const underscores = (name: string) =>
    fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((flips) => [...name].map((c, i) => (c === "-" && flips[i] ? "_" : c)).join(""));

  test("every spelling of the refused flags (=, space, _ for -) is refused, before or after the verb", () => {
    const spelling = fc
      .tuple(where, fc.constantFrom(...KUBECTL_REFUSED).chain(underscores), fc.constantFrom("bare", "eq", "space"), value, fc.boolean())
      .map(([{ path }, name, form, v, before]) => {
        const flag = form === "eq" ? [`--${name}=${v}`] : form === "space" ? [`--${name}`, v] : [`--${name}`];
        return before ? [...flag, ...path, "pods"] : [...path, ...flag];
      });
    fc.assert(
      fc.property(spelling, (argv) => refused(kubectl, argv)),
      RUNS,
    );
  });

  test("every refused shorthand is refused alone, behind allowed booleans (-As URL), with =, attached or next", () => {
    const spelling = fc
      .tuple(where, fc.constantFrom("s", "v", "f", "k", "R", "w", "e", "i", "t", "u"), fc.constantFrom("", "A", "Ah"), fc.constantFrom("=", "attached", "next"), value)
      .map(([{ path, scope }, bad, lead, form, v]) => {
        const usable = [...lead].filter((c) => chain(scope).some((o) => o.short.includes(c) && o.value === "none")).join("");
        const token = `-${usable}${bad}${form === "=" ? `=${v}` : form === "attached" ? v : ""}`;
        return [...path, token, ...(form === "next" ? [v] : [])];
      });
    fc.assert(
      fc.property(spelling, (argv) => refused(kubectl, argv)),
      RUNS,
    );
  });

  test("a flag name in another case is refused", () => {
    const spelling = fc.tuple(where, fc.mixedCase(fc.constantFrom("namespace", "selector", "output", "all-namespaces", "server"))).filter(([, n]) => n !== n.toLowerCase());
    fc.assert(
      fc.property(spelling, ([{ path }, n]) => refused(kubectl, [...path, `--${n}=x`])),
      RUNS,
    );
  });

  test("an output format that reads a file is refused however it is attached", () => {
    const formats = [
      "jsonpath-file=/etc/shadow",
      "custom-columns-file=/etc/shadow",
      "go-template-file=/etc/shadow",
      "templatefile=/x",
      "jsonpath={.x}",
      "go-template={{.}}",
      "custom-columns=A:.a",
    ];
    const spelling = fc
      .tuple(fc.constantFrom(...formats), fc.constantFrom("-o", "--output", "-o=", "--output=", "-o+"))
      .map(([f, how]) => (how.endsWith("=") ? ["get", "pods", `${how}${f}`] : how === "-o+" ? ["get", "pods", `-o${f}`] : ["get", "pods", how, f]));
    fc.assert(
      fc.property(spelling, (argv) => refused(kubectl, argv)),
      RUNS,
    );
  });
});

describe("Commands.properties (ps, procps)", () => {
  const ps = programs.get("ps")!;
  const bsdFlags = [...ps.root.bsd].filter(([, o]) => o.value === "none").map(([l]) => l);

  test("BSD e anywhere in a cluster of allowed BSD letters is refused", () => {
    const spelling = fc.tuple(upTo(bsdFlags, 4), upTo(bsdFlags, 4), fc.constantFrom("e", "ee", "eww")).map(([a, b, e]) => [`${a.join("")}${e}${b.join("")}`]);
    fc.assert(
      fc.property(spelling, (argv) => refused(ps, argv)),
      RUNS,
    );
  });

  test("the environ column is refused in every list and every spelling of the format option", () => {
    const spelling = fc
      .tuple(
        fc.subarray(["pid", "user", "args", "%cpu"], { maxLength: 3 }),
        fc.nat(3),
        fc.constantFrom("-o", "-O", "o", "O", "--format", "--format=", "--format:", "-o+", "--sort=", "k"),
      )
      .map(([cols, at, how]) => {
        const list = [...cols.slice(0, at), "environ", ...cols.slice(at)].join(",");
        if (how.endsWith("=") || how.endsWith(":")) return [`${how}${list}`];
        if (how === "-o+") return [`-o${list}`];
        return [how, list];
      });
    fc.assert(
      fc.property(spelling, (argv) => refused(ps, argv)),
      RUNS,
    );
  });

  test("whatever ps jobs accept runs with no flag that a BSD re-read turns into e", () => {
    const tokens = fc.constantFrom(
      "-e",
      "-A",
      "-f",
      "-ef",
      "aux",
      "ax",
      "-o",
      "pid,args",
      "--sort=-%cpu",
      "-p",
      "1",
      "f",
      "h",
      "--forest",
      "w",
      "-ww",
      "e",
      "-x",
      "-u",
      "root",
      "--no-headers",
    );
    fc.assert(
      fc.property(fc.array(tokens, { maxLength: 6 }), (argv) => {
        const out = accepted(ps, argv);
        if (!out) return true;
        const flags = out.filter((w, i) => !["-o", "-O", "-p", "o", "O", "p", "k", "-C"].includes(out[i - 1] ?? "") && !w.startsWith("--"));
        return flags.every((w) => !/e/.test(w.replace(/^-/, ""))) && !out.some((w) => w.includes("environ"));
      }),
      RUNS,
    );
  });
});

describe("Commands.properties (canonical form)", () => {
  // Tokens per program, allowed and not, so random argv mixes both.
  const ALPHABET: Record<string, string[]> = {
    date: ["-u", "--utc", "--u", "-R", "-d", "yesterday", "--date=@0", "+%F", "-I", "-Iseconds", "--rfc-3339", "ns", "-s", "--set", "--fil", "x"],
    df: ["-h", "-hT", "-x", "tmpfs", "--output", "--output=size", "/", "/usr", "--sync", "-t", "ext4", "--", "-"],
    ls: ["-la", "-1", "--sort=size", "-w", "80", "/etc", "--hide=x", "-I", "x", "--"],
    kubectl: ["get", "describe", "top", "pod", "pods", "-n", "apps", "-A", "-o", "json", "-l", "a=b", "--all_namespaces", "-s", "x", "--", "logs", "-c", "app"],
    ps: ["-e", "-f", "aux", "-o", "pid,args", "--sort=-rss", "-p", "1", "e", "h", "--forest"],
  };
  for (const [name, alphabet] of Object.entries(ALPHABET)) {
    test(`${name}: an accepted argv comes out canonical, and the canonical form reads back as itself`, () => {
      const program = programs.get(name)!;
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 7 }), (argv) => {
          const once = accepted(program, argv);
          if (once) expect(parseCommand(program, once)).toEqual(once);
          return true;
        }),
        RUNS,
      );
    });
  }
});
