/**
 * Deploy benchmark against the compiled binary: cold start and idle RSS with
 * OpenTelemetry off and on (a local OTLP/HTTP receiver that takes the spans),
 * and `bakerst upgrade` under a load of streaming chats: the handoff to a good
 * binary, and the rollback from one that fails its health check.
 * BENCH_BASE_BIN=<an older bakerst> adds its cold start for comparison.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "../../build.ts";
import { chatLoad } from "../../test/helpers/load.ts";
import { freePort, memoryMb, ms, spawnForLine, stats, table, tempDir } from "./lib.ts";

const TOKEN = "bench-token-0123456789abcdef0123";
const root = join(import.meta.dir, "..", "..");
const [bin] = await build({ outdir: tempDir("bakerst-bench-bin-"), targets: ["bakerst"] });
const standin = await spawnForLine([process.execPath, join(root, "scripts/bench/standin.ts"), "--delay", "2"]);
const modelUrl = standin.line;

let spans = 0;
const receiver = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    const body = (await req.json()) as { resourceSpans?: { scopeSpans: { spans: unknown[] }[] }[] };
    for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans) spans += ss.spans.length;
    return Response.json({});
  },
});
const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}` };

function env(dataDir: string, port: number, extra: Record<string, string> = {}) {
  return {
    PATH: "/usr/bin:/bin",
    HOME: dataDir,
    HOST: "127.0.0.1",
    PORT: String(port),
    BAKERST_DATA_DIR: dataDir,
    AUTH_TOKEN: TOKEN,
    LOG_LEVEL: "warn",
    ANTHROPIC_API_KEY: "sk-bench",
    ANTHROPIC_BASE_URL: modelUrl,
    ...extra,
  };
}

async function start(binary: string, dataDir: string, port: number, extra: Record<string, string> = {}) {
  const t0 = performance.now();
  const proc = Bun.spawn([binary, "serve"], { cwd: dataDir, env: env(dataDir, port, extra), stdout: "ignore", stderr: "inherit" });
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/ping`)).status === 200) return { proc, coldMs: performance.now() - t0 };
    } catch {
      // not listening yet
    }
    await Bun.sleep(1);
  }
}

async function stop(proc: Bun.Subprocess) {
  proc.kill("SIGTERM");
  await proc.exited;
}

// Cold start, OTel off and on in turns (the same data dir, already created), median of 10 each.
const dataDir = tempDir("bakerst-bench-data-");
const port = await freePort();
await stop((await start(bin!, dataDir, port)).proc);
const base = process.env.BENCH_BASE_BIN;
const cold: Record<"off" | "on" | "base", number[]> = { off: [], on: [], base: [] };
for (let i = 0; i < 10; i++) {
  for (const mode of ["off", "on", ...(base ? ["base" as const] : [])] as const) {
    const { proc, coldMs } = await start(mode === "base" ? base! : bin!, dataDir, port, mode === "on" ? otel : {});
    cold[mode].push(coldMs);
    await stop(proc);
  }
}

async function idleRss(extra: Record<string, string>) {
  const { proc } = await start(bin!, dataDir, port, extra);
  for (let i = 0; i < 10; i++) {
    const r = await fetch(`http://127.0.0.1:${port}/api/chat`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: '{"message":"Where is Moriarty?"}',
    });
    await r.arrayBuffer();
  }
  await Bun.sleep(1000);
  const m = memoryMb(proc.pid);
  await stop(proc);
  return m.rss;
}
const rssOff = await idleRss({});
const rssOn = await idleRss(otel);

// Upgrades under 4 clients streaming chats: how long each takes, and how many requests fail.
async function upgradeUnderLoad(to: string, window?: number) {
  const dir = tempDir("bakerst-bench-upgrade-");
  const p = await freePort();
  const { proc } = await start(bin!, dir, p);
  const load = chatLoad(`http://127.0.0.1:${p}`, TOKEN, { clients: 4, prefix: "bench" });
  while (load.done.length < 50) await Bun.sleep(10);
  const t0 = performance.now();
  const cli = Bun.spawnSync([bin!, "upgrade", to, ...(window ? ["--window", String(window)] : [])], { env: { PATH: "/usr/bin:/bin", BAKERST_DATA_DIR: dir, HOME: dir } });
  const took = performance.now() - t0;
  const before = load.done.length;
  while (load.done.length < before + 50) await Bun.sleep(10);
  const outcomes = await load.stop();
  const out = cli.stdout.toString();
  const reported = /(?:upgraded to bakerst \S+|rolled back) (?:in|after) ([\d.]+) s/.exec(out)?.[1];
  if (!reported) console.error(`bakerst upgrade said: ${out}${cli.stderr.toString()}`);
  // Whoever serves now (the new core, or the old one after a rollback) stops.
  if (cli.exitCode === 0) {
    const { runningServers } = await import("../../core/upgrade/control.ts");
    for (const s of await runningServers(dir)) process.kill(s.pid, "SIGTERM");
  } else await stop(proc);
  return { code: cli.exitCode, took, reported: reported ? Number(reported) * 1000 : NaN, failed: outcomes.filter((o) => !o.ok).length, total: outcomes.length };
}
const copy = join(tempDir("bakerst-bench-new-"), "bakerst");
await Bun.write(copy, Bun.file(bin!));
chmodSync(copy, 0o755);
const good = await upgradeUnderLoad(copy);
const broken = join(tempDir("bakerst-bench-bad-"), "bakerst-unhealthy");
writeFileSync(broken, `#!/bin/sh\nexec ${process.execPath} ${join(root, "test/fixtures/upgrade/unhealthy.ts")} "$@"\n`, { mode: 0o755 });
const bad = await upgradeUnderLoad(broken);

standin.proc.kill();
receiver.stop(true);

const off = stats(cold.off);
const on = stats(cold.on);
const rows: [string, string, string, string][] = [
  ["cold start to first /ping 200, OTel off (median of 10)", ms(off.p50), "", ""],
  ["cold start, OTel on (OTLP/HTTP to a local receiver; median of 10)", ms(on.p50), "", ""],
  ["added by OTel on", ms(on.p50 - off.p50), "≤ 30 ms", on.p50 - off.p50 <= 30 ? "yes" : "**no**"],
];
if (base) {
  const b = stats(cold.base);
  rows.push(["cold start of BENCH_BASE_BIN (before tracing), median of 10", ms(b.p50), "", ""]);
  rows.push(["added by tracing with OTel off", ms(off.p50 - b.p50), "0 ms", off.p50 - b.p50 <= 1 ? "yes" : "**no**"]);
}
rows.push(
  ["idle RSS after 10 chats, OTel off / on", `${rssOff.toFixed(1)} MB / ${rssOn.toFixed(1)} MB`, "", ""],
  ["spans received during the OTel-on runs", String(spans), "", ""],
  [
    "bakerst upgrade to a good binary under 4 streaming clients: handoff as reported / CLI wall time",
    `${ms(good.reported)} / ${ms(good.took)} (exit ${good.code}; ${good.failed} of ${good.total} chats failed)`,
    "0 failed",
    good.code === 0 && good.failed === 0 ? "yes" : "**no**",
  ],
  [
    "bakerst upgrade to a binary failing its health check (default 20 s window): rollback as reported",
    `${ms(bad.reported)} (exit ${bad.code}; ${bad.failed} of ${bad.total} chats failed)`,
    "≤ 30 s, 0 failed",
    bad.code === 1 && bad.failed === 0 && bad.reported <= 30_000 ? "yes" : "**no**",
  ],
);
console.log(table("Deploy: start-up with OpenTelemetry, upgrades (compiled binary, model stand-in ~2 ms, 2 cores)", rows));
const la = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
console.log(`load average at the end: ${la}`);
process.exit(0);
