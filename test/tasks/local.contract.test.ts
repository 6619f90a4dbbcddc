import { makeApp } from "../helpers/app.ts";
import { mountArea, runnerBinary } from "../helpers/tasks.ts";
import { taskContract } from "./contract.ts";

taskContract("local sandbox", async () => {
  const area = mountArea();
  const h = await makeApp({ TASK_ALLOWED_PATHS: area.root, TASK_RUNNER: await runnerBinary() });
  return { request: h.request, area, dataDir: h.dataDir, close: () => h.close() };
});
