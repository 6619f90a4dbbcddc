import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { AREAS } from "../../core/areas.ts";
import { formatChecks, runDoctor } from "../../core/cli/doctor.ts";
import { makeApp, testConfig } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";
import { runnerBinary } from "../helpers/tasks.ts";
import { type AnthropicStandIn, startAnthropicStandIn } from "../standins/anthropic.ts";
import { afterTool, and, firstRound, prompt, reply } from "../standins/script.ts";
import { person, startTelegramStandIn, type TelegramStandIn } from "../standins/telegram.ts";
import { codeIn, nthMessage, pairChat, telegramEnv } from "./helpers.ts";

let model: AnthropicStandIn;
let tg: TelegramStandIn;

beforeAll(() => {
  model = startAnthropicStandIn();
  tg = startTelegramStandIn();
});
afterEach(() => model.checkAndReset());
afterAll(async () => {
  await tg.close();
  await model.stop();
});

const health = async (h: Awaited<ReturnType<typeof makeApp>>) => (await (await h.request("/api/system/health")).json()) as any;
const root = join(import.meta.dir, "..", "..");

describe("the gateway's lifecycle", () => {
  test("Telegram unreachable at start: the core starts, health says degraded and retrying, and it connects once Telegram is back", async () => {
    await tg.stop();
    const h = await makeApp(telegramEnv(tg, model));
    try {
      const down = await waitFor("a failed attempt", async () => {
        const t = (await health(h)).components.telegram;
        return t.status === "degraded" && t.attempts >= 1 && !t.detail.includes("not tried yet") ? t : undefined;
      });
      expect(down.detail).toContain("not reachable yet");
      expect(down.fix).toContain("TELEGRAM_BOT_TOKEN");
      expect(JSON.stringify(down)).not.toContain(tg.token);
      tg.start();
      await waitFor("telegram connected", async () => (await health(h)).components.telegram.status === "ok", 15_000);
      expect((await health(h)).components.telegram).toMatchObject({ status: "ok", bot: `@${tg.bot.username}`, mode: "polling" });
      const w = person(4001, "late");
      await pairChat(h, tg, w);
    } finally {
      await h.close();
    }
  }, 30_000);

  test("bakerst doctor checks the bot, and a wrong token fails without showing it", async () => {
    const good = formatChecks(await runDoctor(testConfig(telegramEnv(tg, model)), AREAS));
    expect(good).toContain(`✓ telegram: @${tg.bot.username} reachable`);
    const wrongToken = "999:wrong-token-that-must-not-leak";
    const bad = formatChecks(await runDoctor(testConfig({ ...telegramEnv(tg, model), TELEGRAM_BOT_TOKEN: wrongToken }), AREAS));
    expect(bad).toContain("✗ telegram:");
    expect(bad).toContain("401");
    expect(bad).toContain("fix: check TELEGRAM_BOT_TOKEN");
    expect(bad).not.toContain(wrongToken);
  });

  test("bakerst pair approve, beside a running server: the chat is told, and its next message is answered", async () => {
    const h = await makeApp(telegramEnv(tg, model));
    try {
      await waitFor("telegram connected", async () => (await health(h)).components.telegram.status === "ok");
      const c = person(4101, "cli");
      tg.say(c.chat, c.user, "hello");
      const code = codeIn((await nthMessage(tg, c.chat.id, 1)).text);
      const cli = (...args: string[]) => {
        const r = Bun.spawnSync([process.execPath, join(root, "core/main.ts"), "pair", ...args], {
          env: { PATH: process.env.PATH ?? "", BAKERST_DATA_DIR: h.dataDir, LOG_LEVEL: "silent" },
        });
        return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
      };
      expect(cli("approve", "NOPE-NOPE")).toMatchObject({ code: 1 });
      const ok = cli("approve", code.toLowerCase());
      expect(ok.code).toBe(0);
      expect(ok.out).toContain("Paired telegram private @cli");
      expect((await nthMessage(tg, c.chat.id, 2)).text).toContain("Paired with Baker Street");
      model.on(prompt("after the cli"), reply().text("answered"));
      tg.say(c.chat, c.user, "after the cli");
      expect((await nthMessage(tg, c.chat.id, 3)).text).toBe("answered");
      const list = cli("list");
      expect(list.out).toMatch(/paired\s+telegram\s+private\s+@cli/);
      const id = list.out
        .split("\n")
        .find((l) => l.includes("@cli"))!
        .split(/\s+/)[0]!;
      expect(cli("revoke", id).code).toBe(0);
      h.s.audit.flush();
      const actions = h.s.store.sqlite.query("SELECT action, outcome, actor FROM audit_log WHERE action LIKE 'gateway.%' AND actor = 'cli' ORDER BY id").all();
      expect(actions).toEqual([
        { action: "gateway.pairing_refused", outcome: "refused", actor: "cli" },
        { action: "gateway.pairing_approved", outcome: "ok", actor: "cli" },
        { action: "gateway.pairing_revoked", outcome: "ok", actor: "cli" },
      ]);
    } finally {
      await h.close();
    }
  }, 30_000);

  test("a job a chat started and did not wait for is reported to that chat when it ends", async () => {
    const h = await makeApp({ ...telegramEnv(tg, model), COMMAND_ALLOWLIST: "date" });
    try {
      await waitFor("telegram connected", async () => (await health(h)).components.telegram.status === "ok");
      const j = person(4201, "jobs");
      await pairChat(h, tg, j);
      model.on(and(prompt("what time is it, later?"), firstRound), reply().tool("dispatch_job", { type: "command", command: "date -u", wait: false }));
      model.on(afterTool("dispatch_job"), reply().text("Started a job; I will tell you."));
      tg.say(j.chat, j.user, "what time is it, later?");
      expect((await nthMessage(tg, j.chat.id, 3)).text).toBe("⚙ dispatch_job ✓\n\nStarted a job; I will tell you.");
      const report = await nthMessage(tg, j.chat.id, 4, 30_000);
      expect(report.text).toMatch(/^✅ The command job \w{8} finished:\n\n.*UTC/s);
      const watch = h.s.store.sqlite.query("SELECT reported_at FROM gateway_job_watch").all() as { reported_at: number | null }[];
      expect(watch).toHaveLength(1);
      expect(watch[0]!.reported_at).not.toBeNull();
    } finally {
      await h.close();
    }
  }, 40_000);

  test("a task a chat started and did not wait for is reported to that chat when it ends, with the end of its output and its exit code", async () => {
    const h = await makeApp({ ...telegramEnv(tg, model), TASK_RUNNER: await runnerBinary() });
    try {
      await waitFor("telegram connected", async () => (await health(h)).components.telegram.status === "ok");
      const t = person(4301, "tasks");
      await pairChat(h, tg, t);
      model.on(and(prompt("count to three, then fail"), firstRound), reply().tool("run_task", { mode: "script", script: "echo one; echo two; echo three; exit 3", wait: false }));
      model.on(afterTool("run_task"), reply().text("Started; I will tell you how it ends."));
      tg.say(t.chat, t.user, "count to three, then fail");
      expect((await nthMessage(tg, t.chat.id, 3)).text).toBe("⚙ run_task ✓\n\nStarted; I will tell you how it ends.");
      const report = await nthMessage(tg, t.chat.id, 4, 30_000);
      expect(report.text).toMatch(/^❌ The script task \w{8} failed \(exit 3\)/);
      expect(report.text).toContain("one\ntwo\nthree");
      const watch = h.s.store.sqlite.query("SELECT kind, reported_at FROM gateway_job_watch").all() as { kind: string; reported_at: number | null }[];
      expect(watch).toHaveLength(1);
      expect(watch[0]!.kind).toBe("task");
      expect(watch[0]!.reported_at).not.toBeNull();
    } finally {
      await h.close();
    }
  }, 40_000);
});
