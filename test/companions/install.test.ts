import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createUser } from "@nats-io/nkeys";
import type { EnrollmentBundle } from "../../core/protocol/index.ts";
import { tempDir } from "../helpers/app.ts";

const KIT = resolve(import.meta.dir, "../../companion");
const dir = tempDir("bakerst-install-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const binary = join(dir, "bakerst-satellite");
writeFileSync(binary, "#!/bin/sh\necho satellite\n");
const sha = createHash("sha256").update(readFileSync(binary)).digest("hex");
const seed = new TextDecoder().decode(createUser().getSeed());
const core = createUser().getPublicKey();

const bundleOf = (b: Partial<EnrollmentBundle> = {}) =>
  Buffer.from(JSON.stringify({ v: 1, id: "nas", natsUrl: "nats://10.0.0.2:4222", seed, corePublicKey: core, binarySha256: sha, ...b })).toString("base64url");

function sh(script: string, args: string[]) {
  const r = Bun.spawnSync(["sh", join(KIT, script), ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe("companion/install.sh", () => {
  test("installs the verified binary, the settings from the bundle, the seed and a hardened unit, with tight modes", () => {
    const root = join(dir, "root-ok");
    const r = sh("install.sh", ["--binary", binary, "--bundle", bundleOf(), "--allowed-paths", "/srv/media,/volume1/backup", "--concurrency", "3", "--root", root]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(mode(join(root, "usr/local/bin/bakerst-satellite"))).toBe("755");
    expect(readFileSync(join(root, "usr/local/bin/bakerst-satellite"), "utf8")).toBe(readFileSync(binary, "utf8"));
    expect(mode(join(root, "etc/bakerst-companion"))).toBe("750");
    expect(mode(join(root, "etc/bakerst-companion/companion.nk"))).toBe("640");
    expect(readFileSync(join(root, "etc/bakerst-companion/companion.nk"), "utf8").trim()).toBe(seed);
    const env = readFileSync(join(root, "etc/bakerst-companion/companion.env"), "utf8");
    expect(mode(join(root, "etc/bakerst-companion/companion.env"))).toBe("640");
    for (const line of [
      "NATS_URL=nats://10.0.0.2:4222",
      "COMPANION_ID=nas",
      `CORE_PUBLIC_KEY=${core}`,
      "TASK_ALLOWED_PATHS=/srv/media,/volume1/backup",
      "WORKER_CONCURRENCY=3",
      "NATS_CREDS=/etc/bakerst-companion/companion.nk",
    ]) {
      expect(env).toContain(`${line}\n`);
    }
    expect(env).not.toContain(seed);
    expect(mode(join(root, "var/lib/bakerst-companion"))).toBe("700");
    const unit = readFileSync(join(root, "etc/systemd/system/bakerst-companion.service"), "utf8");
    for (const line of [
      "User=bakerst-companion",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "ReadWritePaths=/var/lib/bakerst-companion /srv/media /volume1/backup",
      "Restart=on-failure",
      "ExecStart=/usr/local/bin/bakerst-satellite --mode companion",
      "CapabilityBoundingSet=",
    ]) {
      expect(unit).toContain(`${line}\n`);
    }
  });

  test("a binary whose sha256 is not the bundle's is refused and nothing is installed", () => {
    const root = join(dir, "root-bad-sha");
    const r = sh("install.sh", ["--binary", binary, "--bundle", bundleOf({ binarySha256: "0".repeat(64) }), "--root", root]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("refusing it");
    expect(existsSync(root)).toBe(false);
  });

  test("a bundle without a checksum is refused unless --sha256 names the binary's", () => {
    const { binarySha256: _, ...rest } = JSON.parse(Buffer.from(bundleOf(), "base64url").toString()) as EnrollmentBundle;
    const noSha = Buffer.from(JSON.stringify(rest)).toString("base64url");
    const refused = sh("install.sh", ["--binary", binary, "--bundle", noSha, "--root", join(dir, "root-nosha")]);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain("unverified binary");
    expect(sh("install.sh", ["--binary", binary, "--bundle", noSha, "--sha256", sha, "--root", join(dir, "root-nosha")]).code).toBe(0);
  });

  test("hostile bundles and paths are refused before anything is written", () => {
    const cases: [string[], string][] = [
      [["--bundle", "not base64!"], "base64url"],
      [["--bundle", bundleOf({ id: "nas;rm -rf /" })], "companion id"],
      [["--bundle", bundleOf({ natsUrl: "http://evil" })], "NATS URL"],
      [["--bundle", bundleOf({ seed: "SUnot-a-seed" })], "seed"],
      [["--bundle", bundleOf(), "--allowed-paths", "relative/path"], "absolute"],
      [["--bundle", bundleOf(), "--allowed-paths", "/srv/../etc"], ".."],
    ];
    for (const [args, why] of cases) {
      const root = join(dir, `root-hostile-${why.replace(/\W/g, "")}`);
      const r = sh("install.sh", ["--binary", binary, ...args, "--root", root]);
      expect(r.code, why).not.toBe(0);
      expect(r.err).toContain(why);
      expect(existsSync(root)).toBe(false);
    }
  });

  test("systemd-analyze accepts the unit, where the machine has it", () => {
    const root = join(dir, "root-verify");
    expect(sh("install.sh", ["--binary", binary, "--bundle", bundleOf(), "--root", root]).code).toBe(0);
    const analyze = Bun.which("systemd-analyze");
    if (!analyze) return;
    const unit = join(root, "etc/systemd/system/bakerst-companion.service");
    const r = Bun.spawnSync([analyze, "verify", "--man=no", unit], { stdout: "pipe", stderr: "pipe" });
    // The binary and user are not on this machine: only those complaints are expected; a directive it does not know would be named.
    const complaints = r.stderr
      .toString()
      .split("\n")
      .filter(
        (l) => l.trim() && !/bakerst-satellite|Command .* is not executable|No such file|User|Group|bakerst-companion\.service: Failed|Unit configuration has fatal error/.test(l),
      );
    expect(complaints).toEqual([]);
  });

  test("uninstall.sh removes the binary, settings and unit; the state dir stays unless --purge", () => {
    const root = join(dir, "root-uninstall");
    expect(sh("install.sh", ["--binary", binary, "--bundle", bundleOf(), "--root", root]).code).toBe(0);
    expect(sh("uninstall.sh", ["--root", root]).code).toBe(0);
    expect(existsSync(join(root, "usr/local/bin/bakerst-satellite"))).toBe(false);
    expect(existsSync(join(root, "etc/bakerst-companion"))).toBe(false);
    expect(existsSync(join(root, "etc/systemd/system/bakerst-companion.service"))).toBe(false);
    expect(existsSync(join(root, "var/lib/bakerst-companion"))).toBe(true);
    expect(sh("uninstall.sh", ["--root", root, "--purge"]).code).toBe(0);
    expect(existsSync(join(root, "var/lib/bakerst-companion"))).toBe(false);
  });
});
