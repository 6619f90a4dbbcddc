import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeApp } from "../helpers/app.ts";
import { dataDirWithCommands } from "../helpers/grammars.ts";

/**
 * Every spelling the programs would read as a refused option is refused
 * before anything runs: nothing creates the canary, nothing reaches the
 * loopback listener standing in for an attacker's API server, no output
 * carries the secret, the database keeps its size. Data and canary live under
 * /var/tmp, outside the sandbox's private /tmp, so that invisibility is the
 * sandbox's doing.
 */
const dataDir = mkdtempSync("/var/tmp/bakerst-hostile-data-");
const outside = mkdtempSync("/var/tmp/bakerst-hostile-canary-");
const C = join(outside, "canary");
const SECRET = "s3cr3t-1b5d0c7e9a2f4b6d8c0e1f3a5b7d9c2e";
const SECRET_FILE = join(dataDir, "secret-copy");
const DB = join(dataDir, "bakerst.db");

let h: Awaited<ReturnType<typeof makeApp>>;
let listener: ReturnType<typeof Bun.serve>;
let hits = 0;
let URL_ = "";
const outputs: string[] = [];

beforeAll(async () => {
  dataDirWithCommands({ touch: { syntax: "gnu", operands: { min: 1, max: 1, pattern: "/[^\\x00-\\x1f]{1,200}" } } }, dataDir);
  writeFileSync(SECRET_FILE, `${SECRET}\n`, { mode: 0o644 });
  h = await makeApp({}, { dataDir });
  listener = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      hits++;
      return Response.json({ kind: "Status", apiVersion: "v1", status: "Failure", code: 401 }, { status: 401 });
    },
  });
  URL_ = `http://127.0.0.1:${listener.port}`;
});
afterAll(async () => {
  listener.stop(true);
  await h.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

async function run(argv: string[]) {
  const res = await h.request("/api/jobs?wait=10000", { method: "POST", json: { type: "command", argv } });
  const json = await res.json();
  outputs.push(JSON.stringify(json));
  return json;
}

type Case = [name: string, argv: () => string[], message: RegExp];

/** The cases the outside attack found, then their siblings, class by class. */
const CASES: Case[] = [
  // GNU getopt_long: prefixes, = and space values, clusters, attached values.
  ["date --fil= (prefix of --file)", () => ["date", `--fil=${SECRET_FILE}`], /--fil could mean --file/],
  ["date --fi (shorter prefix, value as the next argument)", () => ["date", "--fi", SECRET_FILE], /--fi could mean --file/],
  ["date --file (space value)", () => ["date", "--file", SECRET_FILE], /may not use option --file/],
  ["date -f <secret file>", () => ["date", "-f", SECRET_FILE], /may not use option -f/],
  ["date -f<secret file> (attached)", () => ["date", `-f${SECRET_FILE}`], /may not use option -f/],
  ["date -uf <file> (cluster)", () => ["date", "-uf", SECRET_FILE], /may not use option -f \(in "-uf"\)/],
  ["date -Ruf<file> (cluster, attached)", () => ["date", `-Ruf${SECRET_FILE}`], /may not use option -f/],
  ["date -s", () => ["date", "-s", "2001-01-01"], /may not use option -s/],
  ["date -sFOO", () => ["date", "-sFOO"], /may not use option -s \(in "-sFOO"\)/],
  ["date -us (cluster)", () => ["date", "-us", "2001-01-01"], /may not use option -s/],
  ["date --s (prefix of --set)", () => ["date", "--s", "2001-01-01"], /--s could mean --set/],
  ["date --se=", () => ["date", "--se=2001-01-01"], /--se could mean --set/],
  ["date --set", () => ["date", "--set", "2001-01-01"], /may not use option --set/],
  ["date --SET (case)", () => ["date", "--SET=2001-01-01"], /may not use option --SET/],
  ["date --r (prefix of --reference)", () => ["date", "--r", "/etc/shadow"], /--r could mean --reference/],
  ["date -r <file>", () => ["date", "-r", SECRET_FILE], /may not use option -r/],
  ["date MMDDhhmm operand sets the clock", () => ["date", "010100002001"], /operand "010100002001" is not allowed/],
  ["date -- -s", () => ["date", "--", "-s"], /operand "-s" is not allowed/],
  ["date -d with a TZ file", () => ["date", "-d", `TZ="${SECRET_FILE}" now`], /-d\/--date value .* is not allowed/],
  ["date --utc=x (a flag given a value)", () => ["date", "--utc=x"], /takes no value/],
  ["hostname NAME", () => ["hostname", "evil"], /hostname takes no operands/],
  ["hostname -- NAME", () => ["hostname", "--", "evil"], /hostname takes no operands/],
  ["hostname -F <file>", () => ["hostname", "-F", C], /may not use option -F/],
  ["hostname -sF<file> (cluster)", () => ["hostname", `-sF${C}`], /may not use option -F/],
  ["hostname --fi (prefix of --file)", () => ["hostname", "--fi", C], /--fi could mean --file/],
  ["hostname -b NAME", () => ["hostname", "-b", "evil"], /may not use option -b/],
  ["hostname --bo (prefix of --boot)", () => ["hostname", "--bo"], /--bo could mean --boot/],
  ["df --output=<file>", () => ["df", `--output=${C}`], /--output value .* is not allowed/],
  ["df --sy (prefix of --sync)", () => ["df", "--sy"], /--sy could mean --sync/],
  ["df relative operand", () => ["df", "data"], /operand "data" is not allowed/],
  ["free -s (repeats forever)", () => ["free", "-s", "1"], /may not use option -s/],
  ["free --sec", () => ["free", "--sec=1"], /--sec could mean --seconds/],
  ["uptime with an operand", () => ["uptime", "now"], /takes no operands/],
  ["whoami root", () => ["whoami", "root"], /takes no operands/],
  ["ls --hi (prefix of --hide and --hide-control-chars)", () => ["ls", "--hi=x"], /--hi could mean --hide/],
  ["ls relative operand", () => ["ls", "data"], /operand "data" is not allowed/],
  // ps: environments.
  ["ps e", () => ["ps", "e"], /may not use option e/],
  ["ps eww", () => ["ps", "eww"], /may not use option e \(in "eww"\)/],
  ["ps auxe", () => ["ps", "auxe"], /may not use option e/],
  ["ps aux e", () => ["ps", "aux", "e"], /argv\[2\]: .*may not use option e/],
  ["ps -ex (falls back to BSD e)", () => ["ps", "-ex"], /may not use option -x/],
  ["ps -eo environ", () => ["ps", "-eo", "pid,environ"], /-o\/--format\/o value "pid,environ" is not allowed/],
  ["ps -o environ (attached)", () => ["ps", "-oenviron"], /value "environ" is not allowed/],
  ["ps --format=environ", () => ["ps", "--format=environ"], /is not allowed/],
  ["ps o environ (BSD)", () => ["ps", "o", "environ"], /is not allowed/],
  ["ps --sort=environ", () => ["ps", "--sort=environ"], /is not allowed/],
  ["ps -u <no such user> (makes ps re-read as BSD)", () => ["ps", "-u", "xe"], /may not use option -u/],
  ["ps -N (reads as BSD N: a namelist file)", () => ["ps", "-N"], /may not use option -N/],
  ["ps N <file>", () => ["ps", "N", C], /may not use option N/],
  ["ps bare pid list", () => ["ps", "1"], /bare process/],
  ["ps --", () => ["ps", "--"], /is not a ps option/],
  // kubectl: credentials elsewhere, files written, files read.
  ["kubectl -s URL get pods", () => ["kubectl", "-s", URL_, "get", "pods"], /kubectl jobs may not use option -s/],
  ["kubectl get pods -s URL", () => ["kubectl", "get", "pods", "-s", URL_], /may not use option -s/],
  ["kubectl get pods -sURL", () => ["kubectl", "get", "pods", `-s${URL_}`], /may not use option -s/],
  ["kubectl get pods -s=URL", () => ["kubectl", "get", "pods", `-s=${URL_}`], /may not use option -s/],
  ["kubectl get -As URL pods", () => ["kubectl", "get", "-As", URL_, "pods"], /may not use option -s \(in "-As"\)/],
  ["kubectl get pods -As URL", () => ["kubectl", "get", "pods", "-As", URL_], /may not use option -s/],
  ["kubectl --server=URL", () => ["kubectl", `--server=${URL_}`, "get", "pods"], /may not use option --server/],
  ["kubectl --server URL", () => ["kubectl", "get", "pods", "--server", URL_], /may not use option --server/],
  ["kubectl --serv=URL (pflag has no prefixes)", () => ["kubectl", "get", "pods", `--serv=${URL_}`], /may not use option --serv/],
  ["kubectl --Server=URL (case)", () => ["kubectl", "get", "pods", `--Server=${URL_}`], /may not use option --Server/],
  ["kubectl ---server=URL", () => ["kubectl", "get", "pods", `---server=${URL_}`], /bad flag syntax/],
  ["kubectl --insecure-skip-tls-verify", () => ["kubectl", "--insecure-skip-tls-verify", "-s", URL_, "get", "pods"], /may not use option --insecure-skip-tls-verify/],
  ["kubectl --insecure_skip_tls_verify", () => ["kubectl", "get", "pods", "--insecure_skip_tls_verify"], /option --insecure-skip-tls-verify \(in "--insecure_skip_tls_verify"\)/],
  ["kubectl --insecure_skip_tls_verify=true", () => ["kubectl", "get", "pods", "--insecure_skip_tls_verify=true"], /--insecure-skip-tls-verify/],
  ["kubectl --profile-output=<db>", () => ["kubectl", "get", "pods", "--profile=cpu", `--profile-output=${DB}`], /may not use option --profile/],
  ["kubectl --profile_output <db>", () => ["kubectl", "get", "pods", "--profile_output", DB], /option --profile-output/],
  ["kubectl --kubeconfig", () => ["kubectl", "get", "pods", `--kubeconfig=${C}`], /may not use option --kubeconfig/],
  ["kubectl --token", () => ["kubectl", "get", "pods", "--token=abc", "-s", URL_], /may not use option --token/],
  ["kubectl --as=admin", () => ["kubectl", "get", "pods", "--as=admin"], /may not use option --as/],
  ["kubectl --as-group", () => ["kubectl", "get", "pods", "--as-group=system:masters"], /may not use option --as-group/],
  ["kubectl --cache-dir", () => ["kubectl", "get", "pods", `--cache-dir=${outside}`], /may not use option --cache-dir/],
  ["kubectl --context", () => ["kubectl", "get", "pods", "--context=other"], /may not use option --context/],
  ["kubectl --certificate-authority", () => ["kubectl", "get", "pods", `--certificate-authority=${C}`], /may not use option --certificate-authority/],
  ["kubectl -v=9 (logs request headers)", () => ["kubectl", "-v=9", "get", "pods"], /may not use option -v/],
  ["kubectl --v 9", () => ["kubectl", "get", "pods", "--v", "9"], /may not use option --v/],
  ["kubectl -o jsonpath-file=", () => ["kubectl", "get", "pods", "-o", `jsonpath-file=${SECRET_FILE}`], /-o\/--output value .* is not allowed/],
  ["kubectl -ocustom-columns-file=", () => ["kubectl", "get", "pods", `-ocustom-columns-file=${SECRET_FILE}`], /is not allowed/],
  ["kubectl -o=go-template-file=", () => ["kubectl", "get", "pods", `-o=go-template-file=${SECRET_FILE}`], /is not allowed/],
  ["kubectl --template", () => ["kubectl", "get", "pods", "--template={{.}}"], /may not use option --template/],
  ["kubectl get -f <file>", () => ["kubectl", "get", "-f", SECRET_FILE], /may not use option -f/],
  ["kubectl get -k <dir>", () => ["kubectl", "get", "-k", dataDir], /may not use option -k/],
  ["kubectl get --raw", () => ["kubectl", "get", "--raw", "/api"], /may not use option --raw/],
  ["kubectl get -w (watches forever)", () => ["kubectl", "get", "pods", "-w"], /may not use option -w/],
  ["kubectl logs -f", () => ["kubectl", "logs", "-f", "web-0"], /may not use option -f/],
  ["kubectl delete", () => ["kubectl", "delete", "pod", "web-0"], /allows only the subcommands get, describe, logs, top, version, api-resources/],
  ["kubectl config view", () => ["kubectl", "config", "view", "--raw"], /allows only the subcommands/],
  ["kubectl exec", () => ["kubectl", "exec", "web-0", "--", "sh"], /allows only the subcommands/],
  ["kubectl -A before the verb", () => ["kubectl", "-A", "get", "pods"], /kubectl jobs may not use option -A/],
  ["kubectl get -- -s URL", () => ["kubectl", "get", "--", "-s", URL_], /operand "-s" is not allowed/],
  ["kubectl top without pod or node", () => ["kubectl", "top", "secrets"], /kubectl top allows only the subcommands pod, node/],
  ["kubectl -n with a path", () => ["kubectl", "-n", "../etc", "get", "pods"], /-n\/--namespace value "..\/etc" is not allowed/],
];

describe("Commands.hostile", () => {
  test(`covers every class with siblings (${CASES.length} cases)`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(80);
  });

  for (const [name, argv, message] of CASES) {
    test(`refuses: ${name}`, async () => {
      const json = await run(argv());
      expect(json.status).toBe("failed");
      expect(json.error.code).toBe("refused");
      expect(json.error.message).toMatch(message);
      // Refused before anything was spawned: no exit code, no output.
      expect(json.result).toBeUndefined();
    });
  }

  test("nothing reached the listener, no canary appeared, the database kept its data", async () => {
    expect(hits).toBe(0);
    expect(existsSync(C)).toBe(false);
    expect(statSync(DB).size).toBeGreaterThan(0);
    const jobs = await (await h.request("/api/jobs?limit=5")).json();
    expect(jobs.jobs.length).toBe(5);
  });
});

describe("Commands.sandbox (through jobs)", () => {
  test("the data dir is not there for a command: ls fails and lists nothing", async () => {
    const json = await run(["ls", "-a", dataDir]);
    expect(json.status).toBe("failed");
    expect(json.error.code).toBe("exit_code");
    expect(json.error.message).toContain("No such file or directory");
    expect(json.result.stdout).not.toContain("bakerst.db");
  });

  test("home and the rest of the host are not there either", async () => {
    for (const path of ["/root", "/home", "/var/tmp", "/work"]) {
      const json = await run(["ls", "-a", path]);
      expect(json.status).toBe("failed");
      expect(json.error.message).toContain("No such file or directory");
    }
  });

  test("a command that writes outside /tmp fails, and its private /tmp is gone afterwards", async () => {
    const canary = await run(["touch", C]);
    expect(canary.status).toBe("failed");
    expect(existsSync(C)).toBe(false);
    for (const path of ["/etc/bakerst-canary", "/usr/bakerst-canary", "/bakerst-canary"]) {
      const json = await run(["touch", path]);
      expect(json.status).toBe("failed");
      expect(json.error.message).toMatch(/Read-only file system|Permission denied/);
    }
    const tmp = await run(["touch", "/tmp/bakerst-canary"]);
    expect(tmp.status).toBe("completed");
    expect(existsSync("/tmp/bakerst-canary")).toBe(false);
  });

  test("ls has no /proc: it cannot list a process, the host's or its own; its /dev is three devices", async () => {
    const holder = Bun.spawn(["sleep", "30"], { env: { PATH: "/usr/bin:/bin", HOLDS: SECRET } });
    try {
      for (const path of ["/proc", `/proc/${holder.pid}`, "/proc/self"]) {
        const json = await run(["ls", "-a", path]);
        expect(json.status).toBe("failed");
        expect(json.error.message).toContain("No such file or directory");
      }
      const dev = await run(["ls", "-A", "/dev"]);
      expect(dev.result.stdout).toBe("null\nurandom\nzero\n");
    } finally {
      holder.kill();
    }
  });

  test("ps shows the host's processes but no environment, even of a process holding the secret", async () => {
    const holder = Bun.spawn(["sleep", "30"], { env: { PATH: "/usr/bin:/bin", HOLDS: SECRET } });
    try {
      const json = await run(["ps", "-e", "-o", "pid,user,args", "--sort=pid"]);
      expect(json.status).toBe("completed");
      expect(json.result.stdout).toContain(`${holder.pid} `);
      expect(json.result.stdout).toContain("sleep 30");
      expect(json.result.stdout).not.toContain(SECRET);
    } finally {
      holder.kill();
    }
  });

  test("df sees the host's root filesystem", async () => {
    const json = await run(["df", "-h", "--output=target,size"]);
    expect(json.status).toBe("completed");
    expect(json.result.stdout).toMatch(/^\/\s+\S+$/m);
  });

  test("the secret never appeared in any job's output", () => {
    expect(outputs.length).toBeGreaterThan(90);
    for (const out of outputs) expect(out).not.toContain(SECRET);
  });
});
