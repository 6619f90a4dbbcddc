/**
 * No docker engine runs here, so the images cannot be built in a test. What
 * can be checked is what they are made of: a pinned minimal base, the one
 * binary for the platform being built copied in, a user that is not root, and
 * that the release workflow builds exactly the files the Dockerfiles copy, for
 * both platforms.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");

interface Instruction {
  op: string;
  args: string;
}

/** Instructions of a Dockerfile: comments dropped, continued lines joined. */
function parseDockerfile(text: string): Instruction[] {
  const joined = text
    .split("\n")
    .filter((l) => !l.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ");
  return joined
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(" ") };
    });
}

const IMAGES = [
  { binary: "bakerst", base: /^gcr\.io\/distroless\/base-debian12:nonroot$/, cmd: '["serve"]' },
  { binary: "bakerst-satellite", base: /^debian:12-slim$/, cmd: '["--mode", "worker"]' },
];

describe.each(IMAGES)("deploy/docker/$binary.Dockerfile", ({ binary, base, cmd }) => {
  const steps = parseDockerfile(readFileSync(join(root, "deploy", "docker", `${binary}.Dockerfile`), "utf8"));
  const ops = steps.map((s) => s.op);

  test("starts from one pinned, minimal base", () => {
    expect(steps.filter((s) => s.op === "FROM").map((s) => s.args)).toHaveLength(1);
    expect(steps[0]).toMatchObject({ op: "FROM" });
    expect(steps[0]!.args).toMatch(base);
  });

  test("copies only its binary, for the platform being built, executable and not writable", () => {
    expect(ops).not.toContain("ADD");
    const copies = steps.filter((s) => s.op === "COPY");
    expect(copies.map((c) => c.args)).toEqual([`--chmod=0555 dist/linux-\${TARGETARCH}/${binary} /usr/local/bin/${binary}`]);
    expect(ops.indexOf("ARG")).toBeGreaterThan(0);
    expect(steps.find((s) => s.op === "ARG")!.args).toBe("TARGETARCH");
    expect(ops.indexOf("ARG")).toBeLessThan(ops.indexOf("COPY"));
  });

  test("runs as a user that is not root, set after everything that needs root", () => {
    const users = steps.filter((s) => s.op === "USER");
    expect(users.map((u) => u.args)).toEqual(["1000:1000"]);
    expect(ops.lastIndexOf("USER")).toBeGreaterThan(Math.max(ops.lastIndexOf("RUN"), ops.lastIndexOf("COPY")));
  });

  test("runs the binary, and carries no secret", () => {
    expect(steps.find((s) => s.op === "ENTRYPOINT")!.args).toBe(`["/usr/local/bin/${binary}"]`);
    expect(steps.find((s) => s.op === "CMD")!.args).toBe(cmd);
    expect(steps.filter((s) => s.op === "ENV" && /KEY|TOKEN|SECRET|PASSWORD|CREDS/.test(s.args))).toEqual([]);
  });
});

describe("The release", () => {
  const workflow = Bun.YAML.parse(readFileSync(join(root, ".github", "workflows", "ci.yml"), "utf8")) as any;
  const release = workflow.jobs.release;
  const script = release.steps.map((s: { run?: string }) => s.run ?? "").join("\n");

  test("every push runs .ci/run; a tag v* releases after it passed", () => {
    expect(workflow.on.push.tags).toEqual(["v*"]);
    expect(workflow.jobs.test.steps.map((s: { run?: string }) => s.run).filter(Boolean)).toEqual(["bash .ci/run"]);
    expect(release.needs).toBe("test");
    expect(release.if).toBe("startsWith(github.ref, 'refs/tags/v')");
  });

  test("builds each binary for linux-x64 and linux-arm64 where the Dockerfiles copy them from, and both images for both platforms", () => {
    expect(script).toContain("bun build.ts --platform linux-x64 --outdir dist/linux-amd64");
    expect(script).toContain("bun build.ts --platform linux-arm64 --outdir dist/linux-arm64");
    expect(script).toContain("--platform linux/amd64,linux/arm64");
    expect(script).toContain('-f "deploy/docker/$bin.Dockerfile"');
    expect(script).toMatch(/for bin in bakerst bakerst-satellite; do/);
  });

  test("the build context holds nothing but those binaries", () => {
    const ignore = readFileSync(join(root, ".dockerignore"), "utf8").trim().split("\n");
    expect(ignore[0]).toBe("*");
    expect(ignore.slice(1).sort()).toEqual(["amd64", "arm64"].flatMap((a) => IMAGES.map((i) => `!dist/linux-${a}/${i.binary}`)).sort());
  });
});
