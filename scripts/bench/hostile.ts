/**
 * What the outside attack's body costs everyone else: GET /ping latency on
 * the compiled binary while another process posts the 40 KB, 20,000-level
 * JSON body in a loop (to the login and to an authenticated validated
 * route), against the same measure with nobody posting. Prints a markdown table.
 */
import { join } from "node:path";
import { build } from "../../build.ts";
import { freePort, ms, stats, table, tempDir } from "./lib.ts";

const TOKEN = "bench-token-0123456789abcdef0123";
const N = 3000;
const [bin] = await build({ outdir: tempDir("bakerst-bench-bin-"), targets: ["bakerst"] });
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const core = Bun.spawn([bin!, "serve"], {
  env: { PATH: "/usr/bin:/bin", HOST: "127.0.0.1", PORT: String(port), BAKERST_DATA_DIR: tempDir("bakerst-bench-data-"), AUTH_TOKEN: TOKEN, LOG_LEVEL: "warn" },
  stdout: "ignore",
  stderr: "inherit",
});
for (;;) {
  const up = await fetch(`${base}/ping`).then(
    (r) => r.ok,
    () => false,
  );
  if (up) break;
  await Bun.sleep(5);
}

async function pings(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await (await fetch(`${base}/ping`)).text();
    out.push(performance.now() - t);
  }
  return out;
}

/** One request's round trip, p50 over `n`. */
async function oneOf(n: number, path: string, body: string, headers: Record<string, string> = {}) {
  const times: number[] = [];
  let status = 0;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    await r.arrayBuffer();
    times.push(performance.now() - t);
    status = r.status;
  }
  return { ...stats(times), status };
}

await pings(300);
const quiet = stats(await pings(N));

const deep = "[".repeat(20_000) + "]".repeat(20_000);
const auth = { authorization: `Bearer ${TOKEN}` };
const loginDeep = await oneOf(50, "/api/auth/login", deep);
const chatDeep = await oneOf(50, "/api/chat", deep, auth);
// The widest body the depth limit lets through: 1 MB of arrays 64 deep, to an authenticated route.
const unit = `${"[".repeat(63)}${"]".repeat(63)}`;
const wide = `[${Array(Math.floor(1_000_000 / (unit.length + 1)))
  .fill(unit)
  .join(",")}]`;
const chatWide = await oneOf(10, "/api/chat", wide, auth);

const poster = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures/deep-poster.ts"), base, TOKEN], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
const reader = poster.stdout.getReader();
await reader.read(); // "posting"
const loaded = stats(await pings(N));
poster.stdin.end();
let rest = "";
for (;;) {
  const { value, done } = await reader.read();
  if (done) break;
  rest += new TextDecoder().decode(value);
}
await poster.exited;
const counts = JSON.parse(rest.trim().split("\n").at(-1)!) as Record<string, number>;
core.kill("SIGTERM");
await core.exited;

const yes = (ok: boolean) => (ok ? "yes" : "**no**");
const posted = Object.entries(counts)
  .map(([k, v]) => `${v} × ${k}`)
  .join(", ");
console.log(
  table(`Hostile bodies (compiled binary, 2 cores; ${N} sequential pings each)`, [
    ["GET /ping p50 / p99, nobody posting", `${ms(quiet.p50)} / ${ms(quiet.p99)}`, "", ""],
    ["GET /ping p50 / p99, while another process posts the 40 KB 20,000-level body in a loop", `${ms(loaded.p50)} / ${ms(loaded.p99)}`, "p99 ≤ 10 ms", yes(loaded.p99 <= 10)],
    ["bodies posted meanwhile (route and answer)", posted, "", ""],
    [`one 40 KB deep body to POST /api/auth/login, p50 (answer ${loginDeep.status})`, ms(loginDeep.p50), "", ""],
    [`one 40 KB deep body to POST /api/chat with the token, p50 (answer ${chatDeep.status})`, ms(chatDeep.p50), "", ""],
    [`1 MB of arrays at the depth limit (64) to POST /api/chat with the token, p50 (answer ${chatWide.status})`, ms(chatWide.p50), "", ""],
  ]),
);
