/**
 * Chat gateway benchmark against the compiled binary, a model stand-in that
 * answers in ~2 ms (its own process), and the Telegram and Discord stand-ins
 * (this process): what a Telegram round trip adds over the web chat path, how
 * fast the outbox drains a backlog after a restart, and how long the window
 * is between a platform accepting a message and the outbox recording it.
 */
import { join } from "node:path";
import { build } from "../../build.ts";
import { openStore } from "../../core/db/client.ts";
import { Outbox } from "../../core/gateway/outbox.ts";
import { startDiscordStandIn, user } from "../../test/standins/discord.ts";
import { person, startTelegramStandIn } from "../../test/standins/telegram.ts";
import { freePort, ms, spawnForLine, stats, table, tempDir } from "./lib.ts";

const TOKEN = "bench-token-0123456789abcdef0123";
const root = join(import.meta.dir, "..", "..");
const [bin] = await build({ outdir: tempDir("bakerst-bench-bin-"), targets: ["bakerst"] });
const standin = await spawnForLine([process.execPath, join(root, "scripts/bench/standin.ts"), "--delay", "2"]);
const tg = startTelegramStandIn();
const dc = startDiscordStandIn();
const dataDir = tempDir("bakerst-bench-gateway-");
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

async function startCore(env: Record<string, string>) {
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
      ANTHROPIC_BASE_URL: standin.line,
      OBSERVER_THRESHOLD_CHARS: "1000000",
      ...env,
    },
    stdout: "ignore",
    stderr: "inherit",
  });
  for (;;) {
    try {
      if ((await fetch(`${base}/ping`)).status === 200) return { proc, startedAt: t0 };
    } catch {
      // not listening yet
    }
    await Bun.sleep(1);
  }
}
const stop = async (proc: ReturnType<typeof Bun.spawn>) => {
  proc.kill("SIGTERM");
  await proc.exited;
};
const api = async (path: string, init: RequestInit = {}) => (await fetch(`${base}${path}`, { ...init, headers })).json() as Promise<any>;
const health = async (name: string) => (await api("/api/system/health")).components[name]?.status;
const until = async (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000) => {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(2);
  }
};

/** Reads a histogram's buckets from /metrics: [upper bound in s, cumulative count]. */
async function histogram(name: string, platform: string): Promise<{ buckets: [number, number][]; sum: number; count: number }> {
  const text = await (await fetch(`${base}/metrics`, { headers })).text();
  const buckets: [number, number][] = [];
  let sum = 0;
  let count = 0;
  for (const line of text.split("\n")) {
    if (!line.includes(`platform="${platform}"`)) continue;
    const b = new RegExp(`^${name}_bucket\\{.*le="([^"]+)"\\} (\\d+)`).exec(line);
    if (b) buckets.push([b[1] === "+Inf" ? Infinity : Number(b[1]), Number(b[2])]);
    else if (line.startsWith(`${name}_sum`)) sum = Number(line.split(" ").at(-1));
    else if (line.startsWith(`${name}_count`)) count = Number(line.split(" ").at(-1));
  }
  return { buckets, sum, count };
}
const bucketOf = (h: { buckets: [number, number][]; count: number }, p: number) => h.buckets.find(([, c]) => c >= h.count * p)?.[0] ?? Infinity;
const under = (s: number) => (s === Infinity ? "> 250 ms" : `≤ ${(s * 1000).toFixed(3)} ms`);

// ---- 1. A Telegram round trip against the web chat path ----
let core = await startCore({ TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.url, GATEWAY_STREAM_INTERVAL_MS: "60000" });
await until("telegram connected", async () => (await health("telegram")) === "ok");
const me = person(42, "owner");
tg.say(me.chat, me.user, "hello");
await until("a pairing code", () => tg.sentTo(42).length === 1);
await api("/api/channels/pairings/approve", { method: "POST", body: JSON.stringify({ code: /([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(tg.sentTo(42)[0]!.text)![1] }) });
await until("the chat told", () => tg.sentTo(42).length === 2);

function telegramRoundTrip(i: number): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    tg.onMessage((m) => {
      if (m.chatId !== 42) return;
      tg.onMessage(undefined);
      resolve(performance.now() - t0);
    });
    tg.say(me.chat, me.user, `Where is Moriarty? (${i})`);
  });
}
async function webRoundTrip(conversationId: string | undefined): Promise<{ ms: number; conversationId: string }> {
  const t0 = performance.now();
  const r = await fetch(`${base}/api/chat`, { method: "POST", headers, body: JSON.stringify({ message: "Where is Moriarty?", ...(conversationId ? { conversationId } : {}) }) });
  const body = (await r.json()) as { conversationId: string };
  return { ms: performance.now() - t0, conversationId: body.conversationId };
}
// One conversation each, as a chat is: the history grows the same way on both paths.
let web = await webRoundTrip(undefined);
for (let i = 0; i < 30; i++) {
  await telegramRoundTrip(i);
  web = await webRoundTrip(web.conversationId);
}
const N = 300;
const viaTelegram: number[] = [];
const viaWeb: number[] = [];
for (let i = 0; i < N; i++) {
  viaTelegram.push(await telegramRoundTrip(1000 + i));
  web = await webRoundTrip(web.conversationId);
  viaWeb.push(web.ms);
}
const t = stats(viaTelegram);
const w = stats(viaWeb);
const added = { p50: t.p50 - w.p50, p99: t.p99 - w.p99 };
await stop(core.proc);

// ---- 2. The outbox draining a backlog after a restart ----
const BACKLOG = 2000;
const CHATS = 20;
for (let i = 0; i < CHATS; i++) dc.dm(user(`7100000000000000${String(i).padStart(2, "0")}`, `reader${i}`), "hello");
function backlog(lanes: string[]): void {
  const store = openStore(dataDir);
  const outbox = new Outbox(store.db, { retryMinMs: 1000 });
  store.sqlite.transaction(() => {
    for (let i = 0; i < BACKLOG; i++) outbox.enqueue(lanes[i % lanes.length]!, `Backlog message ${i}: the game is afoot.`);
  })();
  store.close();
}
async function drain(platform: "telegram" | "discord", env: Record<string, string>, sent: () => number) {
  const before = sent();
  core = await startCore(env);
  const started = performance.now();
  let first = 0;
  await until(
    `${platform} backlog sent`,
    () => {
      const n = sent() - before;
      if (n > 0 && !first) first = performance.now();
      return n >= BACKLOG;
    },
    300_000,
  );
  const end = performance.now();
  const window = await histogram("bakerst_gateway_unrecorded_seconds", platform);
  await stop(core.proc);
  return {
    fromStart: BACKLOG / ((end - core.startedAt) / 1000),
    fromFirst: BACKLOG / ((end - first) / 1000),
    startMs: started - core.startedAt,
    window,
    elapsedS: (end - first) / 1000,
  };
}
backlog(Array.from({ length: CHATS }, (_, i) => `telegram:${9000 + i}`));
const tgDrain = await drain("telegram", { TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.url }, () => tg.messages.length);
backlog(Array.from({ length: CHATS }, (_, i) => `discord:${dc.dmChannel(`7100000000000000${String(i).padStart(2, "0")}`)}`));
const dcSent = () => Array.from({ length: CHATS }, (_, i) => dc.sentTo(dc.dmChannel(`7100000000000000${String(i).padStart(2, "0")}`)!).length).reduce((a, b) => a + b, 0);
const dcDrain = await drain("discord", { DISCORD_BOT_TOKEN: dc.token, DISCORD_API_BASE: dc.apiBase }, dcSent);

standin.proc.kill();
await tg.close();
await dc.close();

const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
const yes = (ok: boolean) => (ok ? "yes" : "**no**");
const share = (d: typeof tgDrain) => `${((d.window.sum / d.elapsedS) * 100).toFixed(2)}%`;
console.log(
  table(`Chat gateway (compiled binary, model stand-in ~2 ms, Telegram and Discord stand-ins on loopback; load average ${load})`, [
    [`Telegram round trip, update to answer accepted, p50 / p99 (${N} sequential)`, `${ms(t.p50)} / ${ms(t.p99)}`, "", ""],
    [`POST /api/chat on the same model, p50 / p99 (${N} sequential)`, `${ms(w.p50)} / ${ms(w.p99)}`, "", ""],
    ["added by the Telegram path, p50 (p99)", `${ms(added.p50)} (${ms(added.p99)})`, "p50 ≤ 20 ms", yes(added.p50 <= 20)],
    [
      `Telegram outbox drain after a restart (${BACKLOG} messages, ${CHATS} chats, one send in flight)`,
      `${Math.round(tgDrain.fromFirst)} msg/s (${Math.round(tgDrain.fromStart)}/s from process start)`,
      "",
      "",
    ],
    [
      `Discord outbox drain after a restart (${BACKLOG} messages, ${CHATS} chats, 8 in flight; discord.js keeps to Discord's 50 requests/s)`,
      `${Math.round(dcDrain.fromFirst)} msg/s (${Math.round(dcDrain.fromStart)}/s from process start)`,
      "",
      "",
    ],
    [
      "window: platform's answer → outbox commit, p50 / p99 (from bakerst_gateway_unrecorded_seconds)",
      `Telegram ${under(bucketOf(tgDrain.window, 0.5))} / ${under(bucketOf(tgDrain.window, 0.99))}; Discord ${under(bucketOf(dcDrain.window, 0.5))} / ${under(bucketOf(dcDrain.window, 0.99))}`,
      "",
      "",
    ],
    ["share of a full-speed drain spent inside that window (a kill there repeats one message)", `Telegram ${share(tgDrain)}, Discord ${share(dcDrain)}`, "", ""],
  ]),
);
