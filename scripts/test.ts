/**
 * `npm test`: makes sure the system programs the tests use are here (a real
 * nats-server, Debian's Chromium, bubblewrap, kubectl), runs the typecheck and the linter (one test
 * each), builds both binaries once for the tests that run them, runs
 * `bun test`, and ends with one line `N passed, N failed` for CI. Skipped and
 * todo tests count as failed.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "../build.ts";
import { failures, runBunTest, type Tally } from "./bun-test.ts";

interface Need {
  what: string;
  present: () => boolean;
  apt: string;
}

// Debian installs nats-server in /usr/sbin, which a non-login PATH may leave out.
const which = (bin: string) => (Bun.which(bin) ?? Bun.which(bin, { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" })) !== null;

const NEEDS: Need[] = [
  { what: "nats-server (real NATS JetStream for the bus tests)", present: () => which("nats-server"), apt: "nats-server" },
  { what: "Chromium (browser tests of the web UI)", present: () => existsSync("/usr/bin/chromium"), apt: "chromium" },
  { what: "bubblewrap (the sandbox command jobs and tasks run in)", present: () => which("bwrap"), apt: "bubblewrap" },
  { what: "kubectl (renders the deploy/ overlays offline, validates the Jobs of Kubernetes tasks)", present: () => which("kubectl"), apt: "kubernetes-client" },
];

function ensureSystemPackages(): void {
  const missing = NEEDS.filter((n) => !n.present());
  if (!missing.length) return;
  const pkgs = missing.map((n) => n.apt);
  const command = `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(" ")}`;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !which("apt-get")) {
    console.error(`The tests need ${missing.map((n) => n.what).join(" and ")}.\nInstall with:\n\n  sudo ${command}\n`);
    process.exit(1);
  }
  console.error(`installing ${pkgs.join(", ")} for the tests: ${command}`);
  const r = Bun.spawnSync(["bash", "-c", command], { stdout: "inherit", stderr: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  const still = NEEDS.filter((n) => !n.present());
  if (r.exitCode !== 0 || still.length) {
    console.error(`could not install ${still.map((n) => n.apt).join(" ")}; run as root:\n\n  ${command}\n`);
    process.exit(1);
  }
}

ensureSystemPackages();

interface Step {
  name: string;
  ok: boolean;
}

/** A command run as one test: its output is shown only when it fails. */
function check(name: string, argv: string[]): Step {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, FORCE_COLOR: "0" } });
  const ok = r.exitCode === 0;
  console.error(`${ok ? "(pass)" : "(fail)"} ${name}`);
  if (!ok) process.stderr.write(`${r.stdout.toString()}${r.stderr.toString()}\n`);
  return { name, ok };
}

const steps = [
  check("npm test > typecheck (tsc --noEmit)", [process.execPath, "run", "typecheck"]),
  check("npm test > lint and format (biome check)", [process.execPath, "run", "lint"]),
];

// Built once here for every test that runs a binary (test/helpers/binary.ts reads TEST_BIN_DIR).
const binDir = mkdtempSync(join(tmpdir(), "bakerst-test-bin-"));
let built = true;
try {
  await build({ outdir: binDir });
  console.error("(pass) npm test > build the binaries");
} catch (err) {
  built = false;
  console.error(`(fail) npm test > build the binaries: ${(err as Error).message}`);
}
steps.push({ name: "npm test > build the binaries", ok: built });

let tally: Tally;
try {
  tally = await runBunTest(["--timeout", "60000", ...process.argv.slice(2)], { env: built ? { TEST_BIN_DIR: binDir } : {} });
} finally {
  rmSync(binDir, { recursive: true, force: true });
}

for (const name of tally.skipped) console.error(`skipped (counts as failed): ${name}`);
for (const name of tally.todos) console.error(`todo (counts as failed): ${name}`);
const passed = tally.pass + steps.filter((s) => s.ok).length;
const failed = failures(tally) + steps.filter((s) => !s.ok).length;
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
