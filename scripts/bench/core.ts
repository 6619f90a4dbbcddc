/**
 * Core benchmark against the compiled binary and a model stand-in that answers
 * in ~2 ms: cold start, idle RSS, added chat latency, throughput at 20
 * concurrent chats. Prints a markdown table.
 */
import { join } from "node:path";
import { build } from "../../build.ts";
import { freePort, memoryMb, ms, rssMb, spawnForLine, stats, table, tempDir } from "./lib.ts";

const TOKEN = "bench-token-0123456789abcdef0123";
const root = join(import.meta.dir, "..", "..");
const [bin] = await build({ outdir: tempDir("bakerst-bench-bin-"), targets: ["bakerst"] });
const standin = await spawnForLine([process.execPath, join(root, "scripts/bench/standin.ts"), "--delay", "2"]);
const modelUrl = standin.line;
const dataDir = tempDir("bakerst-bench-data-");

async function startCore(port: number) {
  const t0 = performance.now();
  const proc = Bun.spawn([bin!, "serve"], {
    cwd: dataDir,
    env: {
      PATH: "/usr/bin:/bin",
      HOST: "127.0.0.1",
      PORT: String(port),
      BAKERST_DATA_DIR: dataDir,
      AUTH_TOKEN: TOKEN,
      LOG_LEVEL: "warn",
      ANTHROPIC_API_KEY: "sk-bench",
      ANTHROPIC_BASE_URL: modelUrl,
    },
    stdout: "ignore",
    stderr: "inherit",
  });
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/ping`);
      if (r.status === 200) return { proc, coldMs: performance.now() - t0 };
    } catch {
      // not listening yet
    }
    await Bun.sleep(1);
  }
}

const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
async function chat(base: string): Promise<number> {
  const t = performance.now();
  const r = await fetch(`${base}/api/chat`, { method: "POST", headers, body: '{"message":"Where is Moriarty?"}' });
  if (r.status !== 200) throw new Error(`chat ${r.status}: ${await r.text()}`);
  await r.arrayBuffer();
  return performance.now() - t;
}
const directBody = JSON.stringify({ model: "claude-sonnet-5-5", max_tokens: 100, stream: true, messages: [{ role: "user", content: "Where is Moriarty?" }] });
async function direct(): Promise<number> {
  const t = performance.now();
  const r = await fetch(`${modelUrl}/v1/messages`, { method: "POST", headers: { "x-api-key": "k", "content-type": "application/json" }, body: directBody });
  await r.arrayBuffer();
  return performance.now() - t;
}

// Cold start: median of 10 starts on an existing data dir (the first start creates it).
const port = await freePort();
const colds: number[] = [];
for (let i = 0; i < 11; i++) {
  const { proc, coldMs } = await startCore(port);
  if (i > 0) colds.push(coldMs);
  proc.kill("SIGTERM");
  await proc.exited;
}
const cold = stats(colds);

const { proc } = await startCore(port);
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 10; i++) await chat(base);
await Bun.sleep(1000);
Bun.gc(true);
const idle = memoryMb(proc.pid);
const idleRss = idle.rss;

// The same measure for a bare Bun server compiled the same way: what the runtime alone costs.
const bareBuild = await Bun.build({
  entrypoints: [join(import.meta.dir, "fixtures/bare-server.ts")],
  compile: { outfile: join(tempDir("bakerst-bench-bare-"), "bare") },
  minify: true,
});
const bareBin = bareBuild.outputs[0]!.path;
const bare = await spawnForLine([bareBin]);
for (let i = 0; i < 10; i++) await (await fetch(`http://127.0.0.1:${bare.line}/work`)).text();
await Bun.sleep(1000);
const bareMem = memoryMb(bare.proc.pid);
bare.proc.kill();

// Added latency: sequential chats vs the same streaming call made straight to the stand-in.
const N = 400;
for (let i = 0; i < 50; i++) {
  await chat(base);
  await direct();
}
const through: number[] = [];
const straight: number[] = [];
for (let i = 0; i < N; i++) {
  straight.push(await direct());
  through.push(await chat(base));
}
const a = stats(through);
const b = stats(straight);
const added = { p50: a.p50 - b.p50, p99: a.p99 - b.p99 };

// Throughput: 20 concurrent clients for 5 s, three rounds; the median round is reported
// (a shared VM's neighbours move single rounds by a third either way).
const CONC = 20;
const DURATION = 5000;
const ROUNDS = 3;
let errors = 0;
async function round() {
  const lat: number[] = [];
  const end = performance.now() + DURATION;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      while (performance.now() < end) {
        try {
          lat.push(await chat(base));
        } catch {
          errors++;
        }
      }
    }),
  );
  return { rate: lat.length / ((performance.now() - t0) / 1000), p99: stats(lat).p99 };
}
const rounds: { rate: number; p99: number }[] = [];
for (let i = 0; i < ROUNDS; i++) rounds.push(await round());
const byRate = [...rounds].sort((x, y) => x.rate - y.rate);
const rate = byRate[1]!.rate;
const conc = { p99: [...rounds].sort((x, y) => x.p99 - y.p99)[1]!.p99 };
const spread = (xs: number[], f: (n: number) => string) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
const busyRss = rssMb(proc.pid);

proc.kill("SIGTERM");
await proc.exited;
standin.proc.kill();

const yes = (ok: boolean) => (ok ? "yes" : "**no**");
console.log(
  table("Core (compiled binary, model stand-in answering in ~2 ms, 2 cores)", [
    ["cold start to first /ping 200 (median of 10)", ms(cold.p50), "≤ 150 ms", yes(cold.p50 <= 150)],
    ["idle RSS after 10 chats", `${idleRss.toFixed(1)} MB (private ${idle.anon.toFixed(1)}, mapped executable ${idle.file.toFixed(1)})`, "≤ 60 MB", yes(idleRss <= 60)],
    [
      "for comparison: a bare compiled Bun server (HTTP, SQLite, fetch)",
      `${bareMem.rss.toFixed(1)} MB (private ${bareMem.anon.toFixed(1)}, mapped ${bareMem.file.toFixed(1)})`,
      "",
      "",
    ],
    ["stand-in alone, p50 / p99", `${ms(b.p50)} / ${ms(b.p99)}`, "", ""],
    ["POST /api/chat, p50 / p99 (sequential)", `${ms(a.p50)} / ${ms(a.p99)}`, "", ""],
    ["added latency p50 (p99)", `${ms(added.p50)} (${ms(added.p99)})`, "p50 ≤ 3 ms", yes(added.p50 <= 3)],
    [
      `throughput, ${CONC} concurrent chats (median of ${ROUNDS} × 5 s; range)`,
      `${Math.round(rate)} chats/s (${spread(
        rounds.map((r) => r.rate),
        (n) => String(Math.round(n)),
      )}; ${errors} errors)`,
      "≥ 1,000 chats/s",
      yes(rate >= 1000 && errors === 0),
    ],
    [
      `p99 at ${CONC} concurrent (median round; range)`,
      `${ms(conc.p99)} (${spread(
        rounds.map((r) => r.p99),
        ms,
      )})`,
      "≤ 50 ms",
      yes(conc.p99 <= 50),
    ],
    ["RSS after the load", `${busyRss.toFixed(1)} MB`, "", ""],
  ]),
);
