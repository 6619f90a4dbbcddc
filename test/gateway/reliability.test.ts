import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/app.ts";
import { type ServeProcess, spawnServe } from "../helpers/binary.ts";
import { waitFor } from "../helpers/nats.ts";
import { type AnthropicStandIn, hitOf, startAnthropicStandIn } from "../standins/anthropic.ts";
import { prompt, reply } from "../standins/script.ts";
import { person, startTelegramStandIn, type TelegramStandIn } from "../standins/telegram.ts";
import { codeIn } from "./helpers.ts";

/**
 * The core as a child process (`bun core/main.ts serve`), SIGKILLed while it
 * works, against a Telegram that answers 429 and 5xx at random. Every message
 * must be answered, no message may run its turn twice, and a message may be
 * sent twice only when a kill fell between Telegram accepting it and the
 * outbox recording that (at most once per kill).
 */
const TOKEN = "reliability-token-0123456789abcdef";
const root = join(import.meta.dir, "..", "..");
const CHATS = 10;

let model: AnthropicStandIn;
let tg: TelegramStandIn;
let dataDir: string;

type Core = ServeProcess;

/** The core from source, on the test's data dir: started again after each kill on the same data. */
const startCore = (): Promise<Core> =>
  spawnServe([process.execPath, join(root, "core/main.ts"), "serve"], {
    cwd: dataDir,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dataDir,
      HOST: "127.0.0.1",
      PORT: "0",
      BAKERST_DATA_DIR: join(dataDir, "data"),
      AUTH_TOKEN: TOKEN,
      LOG_LEVEL: "info",
      ANTHROPIC_API_KEY: "sk-test",
      ANTHROPIC_BASE_URL: model.url,
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.url,
      GATEWAY_RETRY_MIN_MS: "50",
      OBSERVER_THRESHOLD_CHARS: "1000000",
      EDGE_WORKER: "false",
    },
    timeoutMs: 30_000,
  });

async function kill(core: Core): Promise<void> {
  core.proc.kill("SIGKILL");
  await core.proc.exited;
}

/** Armed, the next model call is held mid-answer so a kill lands inside a turn; `held` releases it. */
let armed = false;
let held: { release: () => void } | undefined;

beforeAll(() => {
  model = startAnthropicStandIn();
  tg = startTelegramStandIn();
  dataDir = tempDir("bakerst-reliability-");
  // Each message is answered by name, in three deltas, so the answers can be counted.
  model.always(prompt(/^m \d+-\d+$/), (req) => {
    const r = reply().text("answer ", "to ", hitOf(req).prompt);
    if (armed) {
      armed = false;
      r.wait(new Promise<void>((release) => (held = { release })));
    }
    return r;
  });
});
afterAll(async () => {
  await tg.close();
  await model.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const chats = Array.from({ length: CHATS }, (_, i) => person(50_000 + i, `reader${i}`));
const answerText = (chat: number, i: number) => `answer to m ${chat}-${i}`;

/** How each message was answered: its own answer, or a reply quoting it (a turn a kill cut short). */
function answered(from: number, to: number): { missing: string[]; duplicates: number } {
  const missing: string[] = [];
  let duplicates = 0;
  for (let c = 0; c < CHATS; c++) {
    const chatId = chats[c]!.chat.id;
    const sent = tg.sentTo(chatId);
    for (let i = from; i < to; i++) {
      const asked = tg.said.find((s) => s.chatId === chatId && s.text === `m ${c}-${i}`)!;
      const own = sent.filter((m) => m.text === answerText(c, i));
      const quoting = sent.filter((m) => m.replyTo === asked.messageId && m.text !== answerText(c, i));
      // A message is a duplicate when the same reply was sent more than once.
      const copies = own.length + new Set(quoting.map((m) => m.text)).size;
      if (copies === 0) missing.push(`m ${c}-${i}`);
      duplicates += Math.max(0, own.length - 1) + (quoting.length - new Set(quoting.map((m) => m.text)).size);
    }
  }
  return { missing, duplicates };
}

/** Model calls per message: more than one means a turn ran twice. */
const timesAsked = () => {
  const n = new Map<string, number>();
  for (const r of model.requests) {
    const p = hitOf(r).prompt;
    if (/^m \d+-\d+$/.test(p)) n.set(p, (n.get(p) ?? 0) + 1);
  }
  return n;
};

describe("the gateway under kills and a failing Telegram", () => {
  test("500 messages across 10 chats, three SIGKILLs, random 429 and 5xx: every message answered, no turn run twice, duplicates only from kills", async () => {
    let core = await startCore();
    // Pair the ten chats with Telegram behaving.
    for (const c of chats) tg.say(c.chat, c.user, "hello");
    for (const c of chats) {
      const msg = await waitFor(`a code for ${c.chat.id}`, () => tg.sentTo(c.chat.id)[0]);
      const res = await fetch(`${core.url}/api/channels/pairings/approve`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ code: codeIn(msg.text) }),
      });
      expect(res.status).toBe(200);
    }
    await waitFor("every chat told it is paired", () => chats.every((c) => tg.sentTo(c.chat.id).length === 2));

    tg.chaos({ rate429: 0.05, rate5xx: 0.1 });
    const say = (from: number, to: number) => {
      for (let i = from; i < to; i++) for (let c = 0; c < CHATS; c++) tg.say(chats[c]!.chat, chats[c]!.user, `m ${c}-${i}`);
    };

    // Without kills: the failing Telegram alone never duplicates a message.
    say(0, 15);
    await waitFor("150 answers without a kill", () => answered(0, 15).missing.length === 0, 60_000, 100);
    expect(answered(0, 15).duplicates).toBe(0);

    // With kills: 350 more, the core SIGKILLed three times while it answers, started again each time on the same data:
    // twice while the model is in the middle of an answer, once while replies are going out.
    armed = true;
    say(15, 50);
    let kills = 0;
    const killAndRestart = async () => {
      await kill(core);
      kills++;
      held?.release();
      held = undefined;
      core = await startCore();
    };
    await waitFor("a turn held mid-answer", () => held, 60_000);
    await killAndRestart();
    armed = true;
    await waitFor("another turn held mid-answer", () => held, 60_000);
    await killAndRestart();
    await waitFor("200 of the 350 answered", () => 350 - answered(15, 50).missing.length >= 200, 60_000, 20);
    await killAndRestart();
    await waitFor("every message answered", () => answered(15, 50).missing.length === 0, 90_000, 100);
    tg.chaos(undefined);

    const all = answered(0, 50);
    expect(all.missing).toEqual([]);
    expect(all.duplicates).toBeLessThanOrEqual(kills);
    const asked = timesAsked();
    expect([...asked.values()].filter((n) => n > 1)).toEqual([]);
    expect(asked.size).toBeLessThanOrEqual(500);
    // Turns a kill cut short were answered from what was stored, quoting their message, not run again.
    const interrupted = [...asked.keys()].filter((p) => !tg.messages.some((m) => m.text === `answer to ${p}`));
    expect(interrupted.length).toBeGreaterThanOrEqual(2);
    for (const p of interrupted) {
      const asked = tg.said.find((s) => s.text === p)!;
      const quote = tg.sentTo(asked.chatId).filter((m) => m.replyTo === asked.messageId);
      // The same quote twice is a duplicate a kill may cause, counted in all.duplicates above.
      expect([...new Set(quote.map((m) => m.text))]).toEqual(["⚠️ bakerst stopped before this answer was finished; what it had said is kept"]);
    }
    const failures = tg.calls.filter((c) => c.method === "sendMessage" && c.answer !== "ok").length;
    console.log(
      `reliability: ${kills} kills, ${all.duplicates} duplicates, ${interrupted.length} answers cut short by a kill, ${failures} sendMessage calls refused by the stand-in`,
    );
    expect(failures).toBeGreaterThan(0);

    core.proc.kill("SIGTERM");
    await core.proc.exited;
    const db = new Database(join(dataDir, "data", "bakerst.db"), { readonly: true });
    try {
      expect(db.query("SELECT status, count(*) AS n FROM gateway_outbox WHERE status != 'sent' GROUP BY status").all()).toEqual([]);
      expect(db.query("SELECT status, count(*) AS n FROM gateway_inbox WHERE status NOT IN ('answered') GROUP BY status").all()).toEqual([]);
    } finally {
      db.close();
    }
  }, 240_000);
});
