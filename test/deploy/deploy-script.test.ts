/**
 * scripts/deploy.sh: `--dry-run` prints the manifests it would apply for this
 * install (host, image version) and touches nothing; what it is given is
 * checked before it goes into a manifest.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/app.ts";

const script = join(import.meta.dir, "..", "..", "scripts", "deploy.sh");

function run(args: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync(["bash", script, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tempDir(), ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

type Obj = { kind: string; metadata: { name: string }; [k: string]: any };
const parse = (yaml: string) => (Bun.YAML.parse(yaml) as Obj[]).filter(Boolean);
const images = (objs: Obj[]) =>
  [
    ...new Set(
      objs.flatMap((o) => {
        const spec = o.kind === "CronJob" ? o.spec.jobTemplate.spec.template.spec : o.spec?.template?.spec;
        return (spec?.containers ?? []).map((c: { image: string }) => c.image);
      }),
    ),
  ].sort();

describe("scripts/deploy.sh --dry-run", () => {
  test("single: the one-pod agent for this host and version, and nothing secret", () => {
    const r = run(["single", "--dry-run"], { BAKERST_HOST: "bakerst.home.test", BAKERST_VERSION: "1.2.3", BAKERST_IMAGE_REPO: "registry.home.test/me" });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const objs = parse(r.out);
    const ingress = objs.find((o) => o.kind === "Ingress")!;
    expect(ingress.spec.rules.map((x: { host: string }) => x.host)).toEqual(["bakerst.home.test"]);
    expect(ingress.spec.tls).toEqual([{ hosts: ["bakerst.home.test"], secretName: "bakerst-tls" }]);
    expect(objs.find((o) => o.kind === "ConfigMap")!.data.PUBLIC_URL).toBe("https://bakerst.home.test");
    expect(images(objs)).toEqual(["registry.home.test/me/bakerst:1.2.3"]);
    expect(objs.filter((o) => o.kind === "Secret")).toEqual([]);
    expect(objs.some((o) => o.kind === "StatefulSet")).toBe(false);
  });

  test("cluster --qdrant: NATS, workers and Qdrant too", () => {
    const r = run(["cluster", "--qdrant", "--dry-run", "--host", "agent.example.org"], { BAKERST_VERSION: "2.0.0" });
    expect(r.code).toBe(0);
    const objs = parse(r.out);
    expect(objs.filter((o) => o.kind === "StatefulSet").map((o) => o.metadata.name)).toEqual(["nats", "qdrant"]);
    expect(images(objs)).toEqual(["ghcr.io/bakerst/bakerst-satellite:2.0.0", "ghcr.io/bakerst/bakerst:2.0.0", "nats:2.10.24", "qdrant/qdrant:v1.13.4-unprivileged"]);
  });

  test("refuses input that is not what it should be, before printing or applying anything", () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["single", "--dry-run"], {}, /set BAKERST_HOST/],
      [["single", "--dry-run", "--host", "x\nkind: Secret"], {}, /is not a DNS name/],
      [["single", "--dry-run", "--host", "a.b; rm -rf /"], {}, /is not a DNS name/],
      [["single", "--dry-run", "--host", "a.b"], { BAKERST_VERSION: "1.0\n---\nkind: Secret" }, /is not an image tag/],
      [["single", "--dry-run", "--host", "a.b"], { BAKERST_IMAGE_REPO: "Evil Repo" }, /is not an image repository/],
      [["single", "--qdrant", "--dry-run", "--host", "a.b"], {}, /--qdrant goes with cluster/],
      [["single", "--bogus"], {}, /unknown argument --bogus/],
    ];
    for (const [args, env, why] of cases) {
      const r = run(args, env);
      expect({ args, code: r.code, out: r.out }).toEqual({ args, code: 2, out: "" });
      expect(r.err).toMatch(why);
    }
  });

  test("without --dry-run, a cluster it cannot reach stops it before it creates anything", () => {
    const kubeconfig = join(tempDir(), "config");
    writeFileSync(
      kubeconfig,
      "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: t}}]\n",
    );
    const state = join(tempDir(), "state");
    const r = run(["single", "--host", "a.b"], { KUBECONFIG: kubeconfig, BAKERST_STATE_DIR: state });
    expect(r.code).toBe(2);
    expect(r.err).toContain("kubectl cannot reach a cluster");
    expect(existsSync(state)).toBe(false);
  });
});
