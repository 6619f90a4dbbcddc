/**
 * `bun scripts/bench/companions.ts`: companions benchmark, printed as a markdown table.
 *  - the compiled companion's resident memory, idle, connected, after a few heartbeats
 *  - a script task `uname -a` core → companion → result, over a real nats-server on loopback:
 *    POST /api/companions/:id/tasks → the task's event stream ends (result stored)
 *  - 1,000 results left in the companion's spool while it was away: delivered and acked after it starts
 * Targets (issue 11): idle RSS ≤ 30 MB; round trip p50 ≤ 20 ms.
 * BENCH_COMPANION_TASKS (default 50) sets the round trips, BENCH_SPOOLED (default 1000) the spool.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { newId } from "../../core/util/ids.ts";
import { Spool } from "../../satellite/companion/spool.ts";
import { companionWorld } from "../../test/companions/harness.ts";
import { waitFor } from "../../test/helpers/nats.ts";
import { memoryMb, ms, stats, table } from "./lib.ts";

const N = Number(process.env.BENCH_COMPANION_TASKS ?? 50);
const SPOOLED = Number(process.env.BENCH_SPOOLED ?? 1000);
const rows: [string, string, string, string][] = [];

const w = await companionWorld();
try {
  const { bundle } = await w.pair("bench");
  let c = w.start(bundle, { LOG_LEVEL: "warn", HEARTBEAT_INTERVAL_MS: "30000" });
  await waitFor("the companion online", async () => (await w.status("bench")).status === "online", 30_000);
  await Bun.sleep(3_000);
  const mem = memoryMb(c.proc.pid);
  rows.push([
    "companion idle RSS (private + mapped binary)",
    `${mem.rss.toFixed(1)} MB (${mem.anon.toFixed(1)} private, ${mem.file.toFixed(1)} file)`,
    "≤ 30 MB",
    mem.rss <= 30 ? "yes" : "no",
  ]);

  const roundTrip = async () => {
    const t0 = performance.now();
    const res = await w.app.request("/api/companions/bench/tasks", { method: "POST", json: { mode: "script", script: "uname -a" } });
    const { id } = (await res.json()) as { id: string };
    // The event stream ends once the result is stored: no polling in the measurement.
    await (await w.app.request(`/api/tasks/${id}/events`)).text();
    const took = performance.now() - t0;
    const t = (await (await w.app.request(`/api/tasks/${id}`)).json()) as { status: string };
    if (t.status !== "succeeded") throw new Error(`task ${id} ${t.status}`);
    return took;
  };
  for (let i = 0; i < 3; i++) await roundTrip();
  const trips: number[] = [];
  for (let i = 0; i < N; i++) trips.push(await roundTrip());
  const s = stats(trips);
  rows.push([
    `\`uname -a\` core → companion → result (${N} in turn; runner started in the sandbox each time)`,
    `p50 ${ms(s.p50)}, p99 ${ms(s.p99)}`,
    "p50 ≤ 20 ms",
    s.p50 <= 20 ? "yes" : "no",
  ]);

  // The companion stops; results pile up in its spool as if the link had been down; it starts again.
  await c.kill("SIGTERM");
  const stateDir = join(w.dir, "companion-bench", "state");
  const spool = new Spool(stateDir, SPOOLED * 2);
  const token = "benchbenchbenchbench";
  for (let i = 0; i < SPOOLED; i++) spool.add({ v: 1, type: "result", taskId: newId(), token, seq: 1, at: Date.now(), status: "succeeded", exitCode: 0 });
  spool.close();
  const db = new Database(join(stateDir, "spool.db"), { readonly: true });
  const pending = () => (db.query("SELECT count(*) AS n FROM outbox").get() as { n: number }).n;
  const start = performance.now();
  c = w.start(bundle, { LOG_LEVEL: "warn", HEARTBEAT_INTERVAL_MS: "30000" });
  let first = 0;
  await waitFor(
    "the spool to empty",
    () => {
      const n = pending();
      if (!first && n < SPOOLED) first = performance.now();
      return n === 0;
    },
    120_000,
    5,
  );
  const end = performance.now();
  db.close();
  rows.push([`${SPOOLED} spooled results delivered and acked after a restart`, `${ms(end - first)} from the first (${ms(end - start)} from process start)`, "—", "—"]);
} finally {
  await w.close();
}

const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
console.log(table("Companions", rows));
console.log(`Load average at the time: ${load}.`);
