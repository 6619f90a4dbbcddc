import { describe, expect, test } from "bun:test";
import { Redactor } from "../../core/agent/redact.ts";
import type { CommandGrammarSpec } from "../../core/protocol/index.ts";
import { setUpSandbox } from "../../satellite/sandbox/index.ts";
import { compileGrammar } from "../../satellite/worker/commands/grammar.ts";
import { AllowlistError, CommandRefused, compileGrammars, GrammarError, parseCommand, selectPrograms } from "../../satellite/worker/commands/index.ts";
import { runCommand } from "../../satellite/worker/executors/command.ts";
import { buildPolicies } from "../../satellite/worker/policy.ts";

const programs = selectPrograms(undefined, compileGrammars());
const parse = (argv: string[]) => parseCommand(programs.get(argv[0]!)!, argv.slice(1));
const refusal = (argv: string[]) => {
  try {
    parse(argv);
  } catch (err) {
    if (err instanceof CommandRefused) return err.message;
    throw err;
  }
  throw new Error(`accepted: ${argv.join(" ")}`);
};

/** What an owner asks about, as it might be written, and the canonical argv that runs. */
const ACCEPTED: [string[], string[]][] = [
  [["date"], []],
  [["date", "-u"], ["--utc"]],
  [["date", "--universal"], ["--utc"]],
  [["date", "--u"], ["--utc"]],
  [["date", "+%F"], ["+%F"]],
  [
    ["date", "-u", "+%Y-%m-%dT%H:%M:%SZ"],
    ["--utc", "+%Y-%m-%dT%H:%M:%SZ"],
  ],
  [
    ["date", "-d", "yesterday", "+%F"],
    ["--date=yesterday", "+%F"],
  ],
  [["date", "-dyesterday"], ["--date=yesterday"]],
  [["date", "--date", "2 hours ago"], ["--date=2 hours ago"]],
  [
    ["date", "--da=@1700000000", "-u"],
    ["--date=@1700000000", "--utc"],
  ],
  [
    ["date", "-uR"],
    ["--utc", "--rfc-email"],
  ],
  [["date", "-Iseconds"], ["--iso-8601=seconds"]],
  [["date", "-I"], ["--iso-8601"]],
  [["date", "--rfc-3339", "ns"], ["--rfc-3339=ns"]],
  [
    ["date", "+%s", "-u"],
    ["--utc", "+%s"],
  ],
  [["df"], []],
  [["df", "-h"], ["--human-readable"]],
  [
    ["df", "-hT", "/"],
    ["--human-readable", "--print-type", "/"],
  ],
  [
    ["df", "-x", "tmpfs", "-x", "devtmpfs"],
    ["--exclude-type=tmpfs", "--exclude-type=devtmpfs"],
  ],
  [
    ["df", "--output=source,size,pcent,target", "--total"],
    ["--output=source,size,pcent,target", "--total"],
  ],
  [
    ["df", "-BM", "-i"],
    ["--block-size=M", "--inodes"],
  ],
  [["free", "-h"], ["--human"]],
  [
    ["free", "-m", "-t"],
    ["--mebi", "--total"],
  ],
  [
    ["free", "--giga", "-w"],
    ["--giga", "--wide"],
  ],
  [["uptime"], []],
  [["uptime", "-p"], ["--pretty"]],
  [["uptime", "--since"], ["--since"]],
  [["uname", "-a"], ["--all"]],
  [
    ["uname", "-srm"],
    ["--kernel-name", "--kernel-release", "--machine"],
  ],
  [["hostname"], []],
  [["hostname", "-s"], ["--short"]],
  [["id"], []],
  [
    ["id", "-un"],
    ["--user", "--name"],
  ],
  [["id", "root"], ["root"]],
  [["whoami"], []],
  [
    ["ls", "-la", "/etc"],
    ["-l", "--all", "/etc"],
  ],
  [
    ["ls", "-lh", "--sort=size", "/usr/bin"],
    ["-l", "--human-readable", "--sort=size", "/usr/bin"],
  ],
  [
    ["ls", "-1", "/"],
    ["-1", "/"],
  ],
  [["ps"], []],
  [
    ["ps", "aux"],
    ["a", "u", "x"],
  ],
  [
    ["ps", "-ef"],
    ["-A", "-f"],
  ],
  [
    ["ps", "-e", "-o", "pid,ppid,user,%cpu,%mem,etime,args", "--sort=-%cpu"],
    ["-A", "-o", "pid,ppid,user,%cpu,%mem,etime,args", "--sort=-%cpu"],
  ],
  [
    ["ps", "-eopid,comm"],
    ["-A", "-o", "pid,comm"],
  ],
  [
    ["ps", "axf"],
    ["a", "x", "f"],
  ],
  [
    ["ps", "-p", "1", "-o", "pid,args", "--no-headers"],
    ["-p", "1", "-o", "pid,args", "--no-headers"],
  ],
  [
    ["ps", "--sort", "-rss", "aux"],
    ["--sort=-rss", "a", "u", "x"],
  ],
  [
    ["ps", "-C", "ps"],
    ["-C", "ps"],
  ],
  [
    ["kubectl", "get", "pods"],
    ["get", "pods"],
  ],
  [
    ["kubectl", "get", "pods", "-n", "kube-system", "-o", "wide"],
    ["get", "--namespace=kube-system", "--output=wide", "pods"],
  ],
  [
    ["kubectl", "-n", "apps", "get", "deploy/web", "-oyaml"],
    ["get", "--namespace=apps", "--output=yaml", "deploy/web"],
  ],
  [
    ["kubectl", "get", "pods", "-n=apps", "-l", "app=web,tier!=db"],
    ["get", "--namespace=apps", "--selector=app=web,tier!=db", "pods"],
  ],
  [
    ["kubectl", "get", "pods", "-A", "--field-selector", "status.phase!=Running"],
    ["get", "--all-namespaces=true", "--field-selector=status.phase!=Running", "pods"],
  ],
  [
    ["kubectl", "get", "pods", "--all_namespaces", "--show_labels"],
    ["get", "--all-namespaces=true", "--show-labels=true", "pods"],
  ],
  [
    ["kubectl", "get", "pods", "-Ao", "name"],
    ["get", "--all-namespaces=true", "--output=name", "pods"],
  ],
  [
    ["kubectl", "get", "pods", "-A=false"],
    ["get", "--all-namespaces=false", "pods"],
  ],
  [
    ["kubectl", "describe", "node", "k3s-1"],
    ["describe", "node", "k3s-1"],
  ],
  [
    ["kubectl", "logs", "web-0", "-c", "app", "--tail=100"],
    ["logs", "--container=app", "--tail=100", "web-0"],
  ],
  [
    ["kubectl", "logs", "deploy/web", "--since", "1h", "-p"],
    ["logs", "--since=1h", "--previous=true", "deploy/web"],
  ],
  [
    ["kubectl", "top", "pods", "-A", "--sort-by=memory"],
    ["top", "pod", "--all-namespaces=true", "--sort-by=memory"],
  ],
  [
    ["kubectl", "top", "no"],
    ["top", "node"],
  ],
  [
    ["kubectl", "version", "--client", "-o", "json"],
    ["version", "--client=true", "--output=json"],
  ],
  [
    ["kubectl", "api-resources", "--namespaced=false", "-o", "name"],
    ["api-resources", "--namespaced=false", "--output=name"],
  ],
];

describe("Commands.grammar", () => {
  test("every default grammar compiles", () => {
    expect([...programs.keys()].sort()).toEqual(["date", "df", "free", "hostname", "id", "kubectl", "ls", "ps", "uname", "uptime", "whoami"]);
  });

  for (const [argv, canonical] of ACCEPTED) {
    test(`accepts ${argv.join(" ")}`, () => {
      expect(parse(argv)).toEqual(canonical);
      // The canonical form is a fixed point: reading it again changes nothing.
      expect(parse([argv[0]!, ...canonical])).toEqual(canonical);
    });
  }

  test("the real programs run every canonical form (kubectl: the one that needs no cluster)", async () => {
    const sandbox = setUpSandbox({ mode: "required" });
    const { command } = buildPolicies({ commandTimeoutMs: 10_000, sandbox, httpAllow: [], httpDeny: [], httpTimeoutMs: 1_000 });
    const never = new AbortController().signal;
    const failed: string[] = [];
    for (const [argv] of ACCEPTED) {
      if (argv[0] === "kubectl" && argv[1] !== "version") continue;
      const job = argv[0] === "kubectl" ? ["kubectl", "version", "--client"] : argv;
      const r = await runCommand({ type: "command", argv: job }, command, new Redactor(), never).catch((err: Error) => err);
      if (r instanceof Error) failed.push(`${job.join(" ")}: ${r.message}`);
    }
    expect(failed).toEqual([]);
  }, 60_000);

  test("a long-option prefix of a refused option is refused, naming it", () => {
    expect(refusal(["date", "--fil=/etc/shadow"])).toBe("argv[1]: --fil could mean --file, which date jobs may not use");
    expect(refusal(["ls", "--h"])).toContain("--h could mean --hide or --hyperlink");
  });

  test("an ambiguous prefix is refused the way getopt refuses it", () => {
    expect(refusal(["date", "--d", "now"])).toContain("--d is ambiguous for date (-d/--date, --debug)");
  });

  test("a refusal names the argument and what is allowed", () => {
    expect(refusal(["uname", "--bogus"])).toMatch(/^argv\[1\]: uname jobs may not use option --bogus; allowed: -a\/--all, -s\/--kernel-name/);
    expect(refusal(["kubectl", "get", "pods", "-n", "a b"])).toMatch(/^argv\[4\]: kubectl get -n\/--namespace value "a b" is not allowed/);
    expect(refusal(["id", "a", "b", "c", "d", "e"])).toBe('argv[5]: id takes at most 4 operands; got "e"');
  });

  test("a value-taking option at the end is refused, not left to swallow nothing", () => {
    expect(refusal(["date", "-d"])).toBe("argv[1]: date -d/--date needs a value");
    expect(refusal(["kubectl", "get", "pods", "-n"])).toBe("argv[3]: kubectl get -n/--namespace needs a value");
    expect(refusal(["ps", "-o"])).toBe("argv[1]: ps -o/--format/o needs a value");
  });
});

describe("Commands.grammar specs", () => {
  const bad: [string, CommandGrammarSpec, string][] = [
    ["a value without a pattern", { syntax: "gnu", options: [{ long: ["x"], value: "required" }] }, "t.options.0.pattern: a pattern for the option's value"],
    [
      "a pattern that is not a regular expression",
      { syntax: "gnu", options: [{ long: ["x"], value: "required", pattern: "(" }] },
      "t.options.0.pattern: a valid regular expression",
    ],
    ["a letter declared twice", { syntax: "gnu", options: [{ short: ["a"] }, { short: ["a"], long: ["all"] }] }, "t.options.1.short: -a declared once, not twice"],
    ["a name both allowed and refused", { syntax: "gnu", options: [{ long: ["set"] }], refused: ["set"] }, "t.refused.0: --set either allowed or refused, not both"],
    ["BSD letters outside procps", { syntax: "gnu", options: [{ bsd: ["a"] }] }, "t.options.0.bsd: no BSD letters outside the procps syntax"],
    ["a pflag option without a long name", { syntax: "pflag", options: [{ short: ["a"] }] }, "t.options.0.long: a long name (every pflag option has one)"],
    ["a procps -e spelled first", { syntax: "procps", options: [{ short: ["e", "A"] }] }, "t.options.0.short: a first spelling other than -e, which ps reads as BSD e"],
    ["procps BSD e", { syntax: "procps", options: [{ bsd: ["e"] }] }, "t.options.0.bsd: no BSD e (it shows environments"],
    ["subcommands of a getopt program", { syntax: "gnu", subcommands: { run: {} } }, "t.subcommands: no subcommands outside the pflag syntax"],
    ["operands without a pattern", { syntax: "gnu", operands: { max: 2 } }, "t.operands.pattern: a pattern for the operands"],
    [
      "a nested error",
      { syntax: "pflag", subcommands: { get: { options: [{ long: ["o"], value: "required", pattern: "[" }] } } },
      "t.subcommands.get.options.0.pattern: a valid regular expression",
    ],
  ];
  for (const [name, spec, message] of bad) {
    test(`refuses ${name}, naming the path`, () => {
      expect(() => compileGrammar("t", spec)).toThrow(GrammarError);
      expect(() => compileGrammar("t", spec)).toThrow(message);
    });
  }

  test("a program that runs other programs cannot have a grammar", () => {
    expect(() => compileGrammar("bash", { syntax: "gnu" })).toThrow("bash: a program that runs no other programs (bash does, so it cannot be allowlisted)");
  });

  test("an owner's grammar replaces a default of the same name and adds new programs", () => {
    const mine = selectPrograms(undefined, compileGrammars({ date: { syntax: "gnu" }, seq: { syntax: "gnu", operands: { max: 1, pattern: "[0-9]+" } } }));
    expect(() => parseCommand(mine.get("date")!, ["-u"])).toThrow(CommandRefused);
    expect(parseCommand(mine.get("seq")!, ["3"])).toEqual(["3"]);
  });
});

describe("Commands.allowlist", () => {
  const known = compileGrammars();
  test("narrows kubectl to the listed subcommands, aliases included", () => {
    const p = selectPrograms("kubectl:get|top", known).get("kubectl")!;
    expect(parseCommand(p, ["top", "pods"])).toEqual(["top", "pod"]);
    expect(() => parseCommand(p, ["describe", "pods"])).toThrow("kubectl allows only the subcommands get, top");
  });

  test("names what is wrong with an entry", () => {
    expect(() => selectPrograms("date,nosuch", known)).toThrow(AllowlistError);
    expect(() => selectPrograms("date,nosuch", known)).toThrow("COMMAND_ALLOWLIST: nosuch has no grammar");
    expect(() => selectPrograms("date:set", known)).toThrow("COMMAND_ALLOWLIST: date has no subcommands to choose from");
    expect(() => selectPrograms("kubectl:delete", known)).toThrow('COMMAND_ALLOWLIST: kubectl has no subcommand "delete"');
    expect(() => selectPrograms("date,sh", known)).toThrow("COMMAND_ALLOWLIST: sh runs other programs and cannot be allowlisted");
    expect(() => selectPrograms("/bin/date", known)).toThrow("is not a bare program name");
  });

  test("refusal happens before the program is looked up: a grammar for a program that is not installed still refuses", async () => {
    const sandbox = setUpSandbox({ mode: "required" });
    const { command } = buildPolicies({
      commandGrammars: { "bakerst-absent-kubectl": { syntax: "pflag", subcommands: { get: { operands: { max: 1, pattern: "[a-z]+" } } } } },
      commandAllowlist: "bakerst-absent-kubectl",
      commandTimeoutMs: 1_000,
      sandbox,
      httpAllow: [],
      httpDeny: [],
      httpTimeoutMs: 1_000,
    });
    const never = new AbortController().signal;
    const refused = await runCommand({ type: "command", argv: ["bakerst-absent-kubectl", "-s", "http://127.0.0.1:1", "get", "pods"] }, command, new Redactor(), never).catch(
      (e: Error) => e,
    );
    expect((refused as Error).message).toContain("bakerst-absent-kubectl jobs may not use option -s");
    const allowed = await runCommand({ type: "command", argv: ["bakerst-absent-kubectl", "get", "pods"] }, command, new Redactor(), never).catch((e: Error) => e);
    expect((allowed as Error).message).toContain("is allowlisted but not installed");
  });
});
