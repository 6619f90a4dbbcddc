/**
 * `bun scripts/bench/skills.ts`: skills benchmark, printed as a markdown table.
 *  - add a stdio skill (the SDK fixture server under Bun, in the sandbox) → its tools usable
 *  - an MCP tool call (stdio, sandboxed) against a built-in tool, p50 of each and the overhead
 *  - resident memory of one idle stdio skill (bwrap, and the server inside)
 * Targets (issue 12): tools usable ≤ 300 ms; overhead ≤ 2 ms p50.
 * BENCH_SKILLS (default 10) sets the skills added; BENCH_SKILL_CALLS (default 300) the calls.
 */
import { readdirSync, readFileSync } from "node:fs";
import { Type } from "@sinclair/typebox";
import { defineTool } from "../../core/brain/tools.ts";
import { makeApp } from "../../test/helpers/app.ts";
import { waitFor } from "../../test/helpers/nats.ts";
import { ROOT, stdioSkill } from "../../test/helpers/skills.ts";
import { ms, stats } from "./lib.ts";

const SKILLS = Number(process.env.BENCH_SKILLS ?? 10);
const CALLS = Number(process.env.BENCH_SKILL_CALLS ?? 300);
const rows: [string, string, string][] = [];
const p = (xs: number[]) => {
  const s = stats(xs);
  return `p50 ${ms(s.p50)}, p99 ${ms(s.p99)}`;
};

function processesWith(marker: string): number[] {
  return readdirSync("/proc").flatMap((pid) => {
    if (!/^\d+$/.test(pid)) return [];
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker) ? [Number(pid)] : [];
    } catch {
      return [];
    }
  });
}
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

const h = await makeApp({ SKILL_ALLOWED_PATHS: ROOT, SKILL_IDLE_MS: "3600000" });
const ctx = { signal: new AbortController().signal, conversationId: "bench", turnId: "bench", origin: "web" as const, emit: () => {} };
try {
  const adds: number[] = [];
  for (let i = 0; i < SKILLS; i++) {
    const name = `bench${i}`;
    const t0 = performance.now();
    const res = await h.request("/api/skills", { method: "POST", json: stdioSkill(name, {}, [`--bench-${name}`]) });
    if (res.status !== 201) throw new Error(`adding ${name}: ${res.status} ${await res.text()}`);
    await waitFor(`${name}'s tools`, () => h.s.tools.has(`${name}__echo`), 30_000, 1);
    adds.push(performance.now() - t0);
  }
  rows.push([`add a stdio skill (Bun + the SDK fixture server, sandboxed) → its tools usable (${SKILLS})`, p(adds), "≤ 300 ms"]);

  h.s.tools.register(defineTool({ name: "bench_builtin_echo", description: "echo", input: Type.Object({ text: Type.String() }), run: ({ text }) => `echo: ${text}` }));
  const mcp: number[] = [];
  const builtin: number[] = [];
  for (let i = 0; i < 20; i++) await h.s.tools.execute("bench0__echo", { text: "warm" }, ctx);
  for (let i = 0; i < CALLS; i++) {
    let t0 = performance.now();
    await h.s.tools.execute("bench_builtin_echo", { text: `x${i}` }, ctx);
    builtin.push(performance.now() - t0);
    t0 = performance.now();
    const out = await h.s.tools.execute("bench0__echo", { text: `x${i}` }, ctx);
    mcp.push(performance.now() - t0);
    if (!out.ok) throw new Error(out.content);
  }
  const overhead = stats(mcp).p50 - stats(builtin).p50;
  rows.push([`tool call: built-in (${CALLS})`, p(builtin), "—"]);
  rows.push([`tool call: stdio MCP skill in the sandbox (${CALLS})`, p(mcp), "—"]);
  rows.push(["MCP call overhead over a built-in tool, p50", ms(overhead), "≤ 2 ms"]);

  const pids = processesWith("--bench-bench0");
  const rss = pids.reduce((n, pid) => n + rssMb(pid), 0);
  rows.push([`idle RSS of one stdio skill (${pids.length} processes: bwrap and the server)`, `${rss.toFixed(1)} MB`, "—"]);
} finally {
  await h.close();
}
const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
console.log(`\n### Skills benchmark (${navigator.hardwareConcurrency} cores, Bun ${Bun.version}, bubblewrap from apt, load average at the end ${load})\n`);
console.log("| measurement | result | target |");
console.log("|---|---|---|");
for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
process.exit(0);
