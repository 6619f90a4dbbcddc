/**
 * `npm test`: makes sure the system programs the tests use are here (a real
 * nats-server, Debian's Chromium, bubblewrap), runs `bun test`, and ends with one line
 * `N passed, N failed` for CI.
 */
import { existsSync } from "node:fs";

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
  { what: "bubblewrap (the sandbox command jobs run in)", present: () => which("bwrap"), apt: "bubblewrap" },
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

const args = process.argv.slice(2);
const proc = Bun.spawn([process.execPath, "test", "--timeout", "60000", ...args], {
  stdout: "pipe",
  stderr: "pipe",
  env: { ...process.env, FORCE_COLOR: "0" },
});

let summary = "";
async function pump(stream: ReadableStream<Uint8Array>, out: NodeJS.WriteStream) {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    summary = (summary + text).slice(-4000);
    out.write(text);
  }
}
await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
const code = await proc.exited;

const count = (word: string) => Number(new RegExp(`^\\s*(\\d+) ${word}$`, "m").exec(summary)?.[1] ?? 0);
const passed = count("pass");
let failed = count("fail");
// bun exits non-zero on errors outside tests (an unhandled rejection, a file that fails to load).
if (code !== 0 && failed === 0) failed = 1;
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(code);
