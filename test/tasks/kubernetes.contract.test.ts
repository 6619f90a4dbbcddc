import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUNNER_PATH } from "../../core/tasks/kubernetes/job.ts";
import { makeApp, tempDir } from "../helpers/app.ts";
import { mountArea, runnerBinary } from "../helpers/tasks.ts";
import { startKubernetesStandIn } from "../standins/kubernetes.ts";
import { taskContract } from "./contract.ts";

taskContract("Kubernetes Job (against a stand-in API server that runs the pod in the sandbox)", async () => {
  const area = mountArea();
  const kube = await startKubernetesStandIn({ binaries: { [RUNNER_PATH]: await runnerBinary() }, claims: { "task-data": area.root } });
  const dataDir = tempDir();
  writeFileSync(join(dataDir, "bakerst.json"), JSON.stringify({ tasks: { kubernetes: { volumes: [{ path: area.root, claim: "task-data" }] } } }));
  const h = await makeApp({ TASK_ALLOWED_PATHS: area.root, TASK_TARGET: "kubernetes", TASK_KUBECONFIG: kube.kubeconfig, TASK_IMAGE: "bakerst/runner:test" }, { dataDir });
  return {
    request: h.request,
    area,
    dataDir,
    async close() {
      await h.close();
      await kube.stop();
    },
  };
});
