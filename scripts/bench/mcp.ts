/**
 * `bun scripts/bench/mcp.ts [--calls 500] [--memories 1000]`: bakerst's MCP
 * server. A core (`bakerst serve` from source, its own process) with 1,000
 * memories (keyword search, no embedder); the SDK's client calls
 * `memory_search` through `/mcp` (Streamable HTTP) and through
 * `bakerst mcp --stdio`, beside the same search on the REST API and a bare
 * JSON-RPC POST, and the cost of a call without the token. Prints a markdown table.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { freePort, ms, stats, table, tempDir } from "./lib.ts";

const { values } = parseArgs({ options: { calls: { type: "string", default: "500" }, memories: { type: "string", default: "1000" } } });
const CALLS = Number(values.calls);
const MEMORIES = Number(values.memories);
const TOKEN = "bench-token-0123456789abcdef";
const MAIN = join(import.meta.dir, "..", "..", "core", "main.ts");
const WORDS = "proxmox nas router switch coffee roast keyboard laptop drone camera backup kubernetes talos zfs raid ups battery bike garden".split(" ");

const dir = tempDir("bakerst-bench-mcp-");
const port = await freePort();
const env = { ...process.env, BAKERST_DATA_DIR: dir, AUTH_TOKEN: TOKEN, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "error" } as Record<string, string>;
const core = Bun.spawn([process.execPath, MAIN, "serve"], { env, stdout: "ignore", stderr: "inherit" });
const url = `http://127.0.0.1:${port}`;
const auth = { authorization: `Bearer ${TOKEN}` };
for (let i = 0; ; i++) {
  if (
    await fetch(`${url}/ping`).then(
      (r) => r.ok,
      () => false,
    )
  )
    break;
  if (i > 200) throw new Error("bakerst did not start");
  await Bun.sleep(50);
}

let seed = 7;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0), seed / 2 ** 32);
for (let i = 0; i < MEMORIES; i++) {
  const text = `Note ${i} about ${Array.from({ length: 6 }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(" ")}`;
  const res = await fetch(`${url}/api/memories`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ text, category: "general" }) });
  if (!res.ok) throw new Error(`seeding answered ${res.status}`);
}
const queries = Array.from({ length: CALLS }, () => `${WORDS[Math.floor(rand() * WORDS.length)]} ${WORDS[Math.floor(rand() * WORDS.length)]}`);

async function time(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(50, n); i++) await fn(i); // warm-up
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}
const check = (r: { isError?: boolean; content: unknown }) => {
  if (r.isError) throw new Error(`tool error: ${JSON.stringify(r.content)}`);
};

const http = new Client({ name: "bench", version: "1" });
await http.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: auth } }));
const viaSdk = await time(CALLS, async (i) => check((await http.callTool({ name: "memory_search", arguments: { query: queries[i]!, limit: 10 } })) as never));
const list = await time(CALLS, () => http.listTools());

const rpc = (i: number) => JSON.stringify({ jsonrpc: "2.0", id: i, method: "tools/call", params: { name: "memory_search", arguments: { query: queries[i]!, limit: 10 } } });
const mcpHeaders = { ...auth, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18" };
const bare = await time(CALLS, async (i) => {
  const res = await fetch(`${url}/mcp`, { method: "POST", headers: mcpHeaders, body: rpc(i) });
  if (res.status !== 200) throw new Error(`/mcp answered ${res.status}`);
  await res.arrayBuffer();
});
const rest = await time(CALLS, async (i) => {
  const res = await fetch(`${url}/api/memories/search?q=${encodeURIComponent(queries[i]!)}&limit=10`, { headers: auth });
  if (!res.ok) throw new Error(`search answered ${res.status}`);
  await res.arrayBuffer();
});
const refused = await time(CALLS, async (i) => {
  const res = await fetch(`${url}/mcp`, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: rpc(i) });
  if (res.status !== 401) throw new Error(`/mcp without a token answered ${res.status}`);
  await res.arrayBuffer();
});
await http.close();

const stdio = new Client({ name: "bench", version: "1" });
const tStdio = performance.now();
await stdio.connect(
  new StdioClientTransport({
    command: process.execPath,
    args: [MAIN, "mcp", "--stdio"],
    env: { PATH: process.env.PATH ?? "", BAKERST_DATA_DIR: dir, AUTH_TOKEN: TOKEN, LOG_LEVEL: "silent" },
  }),
);
const stdioStart = performance.now() - tStdio;
const viaStdio = await time(CALLS, async (i) => check((await stdio.callTool({ name: "memory_search", arguments: { query: queries[i]!, limit: 10 } })) as never));
await stdio.close();

core.kill("SIGTERM");
await core.exited;
rmSync(dir, { recursive: true, force: true });

const row = (name: string, xs: number[]): [string, string, string, string] => {
  const s = stats(xs);
  return [name, `p50 ${ms(s.p50)}, p99 ${ms(s.p99)}`, "", ""];
};
const sdk = stats(viaSdk);
const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
console.log(
  table(`MCP server (${MEMORIES} memories, keyword search, ${CALLS} sequential calls each; core from source in its own process; load average ${load})`, [
    ["/mcp tools/call memory_search (SDK client, Streamable HTTP)", `p50 ${ms(sdk.p50)}, p99 ${ms(sdk.p99)}`, "≤ 5 ms p50", sdk.p50 <= 5 ? "yes" : "no"],
    row("/mcp tools/call memory_search (one bare POST)", bare),
    row("GET /api/memories/search (the same search over REST)", rest),
    row("/mcp tools/list (SDK client)", list),
    row("/mcp without a token (401)", refused),
    row("bakerst mcp --stdio → /mcp, tools/call memory_search", viaStdio),
    ["bakerst mcp --stdio: spawn to initialized", ms(stdioStart), "", ""],
  ]),
);
