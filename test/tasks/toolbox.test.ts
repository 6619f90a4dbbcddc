import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUNNER_PATH } from "../../core/tasks/kubernetes/job.ts";
import { makeApp, tempDir } from "../helpers/app.ts";
import { createTask, endedTask, runnerBinary } from "../helpers/tasks.ts";
import { type KubernetesStandIn, startKubernetesStandIn } from "../standins/kubernetes.ts";

/** Toolboxes: tools the owner set up, which a task asks for by name. */
let tools: string;
let kube: KubernetesStandIn;

beforeAll(async () => {
  const base = tempDir("bakerst-toolbox-");
  tools = join(base, "bin");
  mkdirSync(tools);
  chmodSync(base, 0o755);
  chmodSync(tools, 0o755);
  const tool = join(tools, "hello-tool");
  writeFileSync(tool, "#!/bin/sh\necho from the toolbox: $1\n");
  chmodSync(tool, 0o755);
  kube = await startKubernetesStandIn({ binaries: { [RUNNER_PATH]: await runnerBinary() } });
});
afterAll(() => kube.stop());

function dataDirWith(config: unknown): string {
  const dir = tempDir();
  writeFileSync(join(dir, "bakerst.json"), JSON.stringify(config));
  return dir;
}

describe("Toolboxes", () => {
  test("locally, a toolbox's directories are bound read-only and first on PATH; a task without it does not have them", async () => {
    const h = await makeApp({ TASK_RUNNER: await runnerBinary() }, { dataDir: dataDirWith({ tasks: { toolboxes: { greet: { paths: [tools] } } } }) });
    try {
      const withBox = await endedTask(
        h.request,
        (await createTask(h.request, { mode: "script", script: `hello-tool hi; touch ${tools}/x || echo read-only`, toolbox: "greet" })).id,
      );
      expect(withBox.output).toContain("from the toolbox: hi\n");
      expect(withBox.output).toContain("read-only");
      const without = await endedTask(h.request, (await createTask(h.request, { mode: "script", script: "hello-tool hi" })).id);
      expect(without).toMatchObject({ status: "failed", exitCode: 127 });
    } finally {
      await h.close();
    }
  }, 60_000);

  test("on Kubernetes a toolbox is an image: the Job runs it; a toolbox without one is refused there", async () => {
    const h = await makeApp(
      { TASK_RUNNER: await runnerBinary(), TASK_KUBECONFIG: kube.kubeconfig, TASK_IMAGE: "bakerst/runner:test" },
      { dataDir: dataDirWith({ tasks: { toolboxes: { media: { image: "bakerst/toolbox-media:test" }, greet: { paths: [tools] } } } }) },
    );
    try {
      const task = await createTask(h.request, { mode: "script", script: "true", toolbox: "media", target: "kubernetes" });
      await endedTask(h.request, task.id);
      expect(kube.jobs.find((j) => j.metadata!.name === `bakerst-task-${task.id}`)!.spec!.template.spec!.containers[0]!.image).toBe("bakerst/toolbox-media:test");
      const res = await h.request("/api/tasks", { method: "POST", json: { mode: "script", script: "true", toolbox: "greet", target: "kubernetes" } });
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toContain("toolbox: greet has no image");
      // And the other way round: an image alone is nothing to bind locally.
      const local = await h.request("/api/tasks", { method: "POST", json: { mode: "script", script: "true", toolbox: "media" } });
      expect(local.status).toBe(400);
      expect((await local.json()).error.message).toContain("toolbox: media has no paths");
    } finally {
      await h.close();
    }
  }, 60_000);

  test("a toolbox path that does not exist, is a symlink, lies in the system view or holds the data dir stops start-up naming it", async () => {
    const link = join(tempDir("bakerst-toolbox-link-"), "bin");
    symlinkSync(tools, link);
    const parent = tempDir("bakerst-toolbox-parent-");
    const dataDir = join(parent, "data");
    mkdirSync(dataDir);
    for (const [paths, dir, why] of [
      [["/nonexistent/tools"], undefined, "an existing directory"],
      [[link], undefined, "without symlinks"],
      [["/usr/local/bin"], undefined, "system view"],
      [[parent], dataDir, "data dir"],
    ] as const) {
      const d = dir ?? tempDir();
      writeFileSync(join(d, "bakerst.json"), JSON.stringify({ tasks: { toolboxes: { bad: { paths } } } }));
      const err = await makeApp({ TASK_RUNNER: await runnerBinary() }, { dataDir: d }).then(
        async (h) => (await h.close(), undefined),
        (e: Error) => e,
      );
      expect(err?.message, String(paths)).toContain("tasks.toolboxes.bad.paths.0");
      expect(err?.message).toContain(why);
    }
  }, 60_000);
});
