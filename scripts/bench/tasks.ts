/**
 * `bun scripts/bench/tasks.ts`: tasks benchmark, printed as a markdown table.
 *  - the runner alone (no sandbox) and in the local sandbox: spawn → first output line
 *  - the local launcher: launch → first progress line, and → result, for `echo`
 *  - an `echo` task end to end over HTTP: POST /api/tasks → its events end (ended and stored)
 *  - 50 short tasks posted at once: until the last has ended
 * Targets (issue 10): start → first progress line p50 ≤ 50 ms; `echo` end to end ≤ 100 ms.
 * BENCH_TASKS (default 100) sets the sequential runs.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "../../build.ts";
import { AREAS } from "../../core/areas.ts";
import { loadConfig } from "../../core/config/index.ts";
import type { TaskReport, TaskRunSpec } from "../../core/protocol/index.ts";
import { tasksKeys } from "../../core/tasks/keys.ts";
import { createLocalLauncher } from "../../core/tasks/local.ts";
import { newReportToken } from "../../core/tasks/runs.ts";
import { silentLogger } from "../../core/telemetry/log.ts";
import { newId } from "../../core/util/ids.ts";
import { serveApp, TOKEN } from "../../test/helpers/app.ts";
import { ms, stats, tempDir } from "./lib.ts";

const N = Number(process.env.BENCH_TASKS ?? 100);
const CONCURRENT = 50;
const rows: [string, string, string][] = [];
const p = (xs: number[]) => {
  const s = stats(xs);
  return `p50 ${ms(s.p50)}, p99 ${ms(s.p99)}`;
};

const outdir = tempDir("bakerst-bench-bin-");
const [runner] = await build({ outdir, targets: ["bakerst-satellite"] });
const spec = (script: string): TaskRunSpec => ({ v: 1, id: newId(), mode: "script", script, mounts: [], network: "none", timeoutMs: 30_000, reportToken: newReportToken() });

/** Spawn → the first line of the script's output, reading the runner's reports. */
async function bareFirstLine(): Promise<number> {
  const t0 = performance.now();
  const proc = Bun.spawn([runner!, "--mode", "task", "--spec", "-"], { stdin: "pipe", stdout: "pipe", stderr: "ignore", env: { PATH: "/usr/bin:/bin" } });
  proc.stdin.write(`${JSON.stringify(spec("echo hello"))}\n`);
  proc.stdin.flush();
  let first = 0;
  let buf = "";
  for await (const chunk of proc.stdout) {
    buf += new TextDecoder().decode(chunk);
    if (!first && buf.includes('"kind":"log"')) first = performance.now() - t0;
  }
  proc.stdin.end();
  await proc.exited;
  return first;
}

async function launcherRuns() {
  const dataDir = tempDir("bakerst-bench-data-");
  const config = loadConfig({ schemas: AREAS.map((a) => ({ name: a.name, ...a.config })), env: { BAKERST_DATA_DIR: dataDir, TASK_RUNNER: runner! } });
  const launcher = createLocalLauncher({ config, settings: config.read(tasksKeys), file: {}, log: silentLogger });
  const firstLine: number[] = [];
  const ended: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    let line = 0;
    let result = 0;
    const launched = await launcher.launch(spec("echo hello"), {
      report(r: TaskReport) {
        if (!line && r.type === "progress" && r.kind === "log") line = performance.now() - t0;
        if (r.type === "result") result = performance.now() - t0;
      },
    });
    await launched.done;
    firstLine.push(line);
    ended.push(result);
  }
  const bare: number[] = [];
  for (let i = 0; i < N; i++) bare.push(await bareFirstLine());
  rows.push([`the runner alone, no sandbox: spawn → first output line (${N} sequential)`, p(bare), "—"]);
  rows.push([`local sandbox task: start → first progress line (\`echo hello\`, ${N} sequential)`, p(firstLine), "p50 ≤ 50 ms"]);
  rows.push([`local sandbox task: start → result (\`echo hello\`, ${N} sequential)`, p(ended), "—"]);
}

async function endToEnd() {
  const dataDir = tempDir("bakerst-bench-app-");
  // Room for 50 runners at once: each is a Bun process with a few threads, all counted against the sandbox user's process limit.
  writeFileSync(join(dataDir, "bakerst.json"), JSON.stringify({ tasks: { limits: { processes: 2048 } } }));
  const app = await serveApp({ TASK_RUNNER: runner!, TASK_CONCURRENCY: String(CONCURRENT) }, { dataDir });
  const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
  const run = async () => {
    const res = await fetch(`${app.url}/api/tasks`, { method: "POST", headers, body: JSON.stringify({ mode: "script", script: "echo hello" }) });
    const { id } = (await res.json()) as { id: string };
    // The stream ends once the result is stored.
    await (await fetch(`${app.url}/api/tasks/${id}/events`, { headers })).text();
    return id;
  };
  try {
    await run(); // warm-up
    const times: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      await run();
      times.push(performance.now() - t0);
    }
    rows.push([`\`echo\` task end to end over HTTP: POST → events end, result stored (${N} sequential)`, p(times), "p50 ≤ 100 ms"]);
    const t0 = performance.now();
    const ids = await Promise.all(Array.from({ length: CONCURRENT }, run));
    const wall = performance.now() - t0;
    const statuses = await Promise.all(ids.map(async (id) => ((await (await fetch(`${app.url}/api/tasks/${id}`, { headers })).json()) as { status: string }).status));
    const ok = statuses.filter((s) => s === "succeeded").length;
    rows.push([
      `${CONCURRENT} short tasks posted at once (TASK_CONCURRENCY=${CONCURRENT}): until the last has ended`,
      `${ms(wall)} (${ok}/${CONCURRENT} succeeded)`,
      "all succeed",
    ]);
  } finally {
    await app.stop();
  }
}

await launcherRuns();
await endToEnd();
const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
console.log(`\n### Tasks benchmark (${navigator.hardwareConcurrency} cores, Bun ${Bun.version}, bubblewrap from apt, load average at the end ${load})\n`);
console.log("| measurement | result | target |");
console.log("|---|---|---|");
for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
process.exit(0);
