import { defineArea } from "../area/types.ts";
import { AppError } from "../errors.ts";
import { Counter, Histogram } from "../telemetry/metrics.ts";
import { constantTimeEqual } from "../util/crypto.ts";
import type { ChatAdapter, Inbound } from "./adapter.ts";
import { ChatRunner } from "./chats.ts";
import { gatewayChecks } from "./doctor.ts";
import { Gateway } from "./gateway.ts";
import { botToken, gatewayKeys } from "./keys.ts";
import { platformLink } from "./link.ts";
import { Outbox } from "./outbox.ts";
import { Pairings } from "./pairing.ts";
import { channelRoutes } from "./routes.ts";
import type { TelegramAdapter } from "./telegram.ts";
import { webhookSecret } from "./telegram-secret.ts";
import { WorkReports } from "./work-reports.ts";

/** A reply waiting longer than this to be sent turns the gateway's health degraded. */
const STUCK_MS = 10 * 60_000;
/** Telegram sends updates of a few KB; a webhook body past this is not one. */
const WEBHOOK_MAX_BYTES = 1024 * 1024;

/**
 * The chat gateway: Telegram (grammy) and Discord (discord.js), each optional
 * and started degraded while its platform is unreachable; pairing closed by
 * default; one conversation per chat; an inbox and an outbox in SQLite so a
 * message is answered once and a reply is sent once (docs/gateway.md).
 */
export const gatewayArea = defineArea({
  name: "gateway",
  needs: ["jobs"],
  // Tasks a chat started are reported to it; bot tokens may live in Secrets instead of the environment (a changed one reconnects).
  wants: ["tasks", "secrets"],
  config: { keys: gatewayKeys },
  doctor: gatewayChecks,
  async start(ctx) {
    const k = ctx.config.read(gatewayKeys);
    const db = ctx.store.db;
    const metrics = {
      sent: ctx.metrics.registry.add(new Counter("bakerst_gateway_sends_total", "Platform calls of the chat outbox by platform, op and outcome", ["platform", "op", "outcome"])),
      unrecorded: ctx.metrics.registry.add(
        new Histogram(
          "bakerst_gateway_unrecorded_seconds",
          "From a platform's answer to a send until the outbox has recorded it: a crash inside sends the message again",
          ["platform"],
          [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25],
        ),
      ),
    };
    const outbox = new Outbox(db, { retryMinMs: k.GATEWAY_RETRY_MIN_MS, log: ctx.log, metrics });
    const pairings = new Pairings(db, { outbox, audit: ctx.audit, maxPending: k.GATEWAY_MAX_PENDING_PAIRINGS });
    const tasks = ctx.want("tasks");
    const reports = new WorkReports({ db, outbox, jobs: ctx.need("jobs"), ...(tasks ? { tasks } : {}), log: ctx.log });
    const runner = new ChatRunner({
      db,
      brain: ctx.brain,
      conversations: ctx.conversations,
      outbox,
      pairings,
      streamIntervalMs: k.GATEWAY_STREAM_INTERVAL_MS,
      log: ctx.log,
      watchWork: (chat, work) => reports.watch(chat, work),
    });
    const gateway = new Gateway({ pairings, runner, outbox, brain: ctx.brain, conversations: ctx.conversations, models: ctx.models, db: ctx.store.sqlite });
    const receive = (m: Inbound) => gateway.receive(m);
    ctx.notifications.onNotify((n) => gateway.deliver(n));
    ctx.routes(channelRoutes(pairings, outbox));
    ctx.health.register("gateway", () => {
      const c = outbox.counts();
      const stuck = c.oldestPendingMs !== null && c.oldestPendingMs > STUCK_MS;
      return {
        status: stuck ? "degraded" : "ok",
        pairedChats: pairings.list().paired.length,
        ...c,
        ...(stuck ? { detail: "replies have waited more than 10 minutes to be sent", fix: "check the telegram and discord components above; run bakerst doctor" } : {}),
      };
    });

    const connected = new Set<ChatAdapter>();
    const up = (a: ChatAdapter) => (connected.add(a), outbox.attach(a));
    const down = async (a: ChatAdapter) => {
      connected.delete(a);
      if (outbox.adapter(a.platform) === a) outbox.detach(a.platform);
      await a.close();
    };
    const secrets = ctx.want("secrets");

    const webhookUrl = k.TELEGRAM_WEBHOOK_URL;
    const telegram = platformLink({
      platform: "telegram",
      ctx,
      configured: botToken(ctx.config, "telegram"),
      secrets,
      connect: async (token, signal) => {
        const { TelegramAdapter } = await import("./telegram.ts");
        const webhook = webhookUrl ? { url: webhookUrl, secret: webhookSecret(token, k.TELEGRAM_WEBHOOK_SECRET) } : undefined;
        return TelegramAdapter.connect({ token, apiRoot: k.TELEGRAM_API_ROOT, webhook, log: ctx.log.child({ platform: "telegram" }), receive, signal });
      },
      fix: "check TELEGRAM_BOT_TOKEN (configured or in Secrets), TELEGRAM_API_ROOT and the network; run bakerst doctor",
      up,
      down,
    });
    if (webhookUrl) {
      // The secret Telegram sends derives from the token it has now, which a change in Secrets replaces.
      const expected = () => {
        const token = telegram.token();
        return token ? new TextEncoder().encode(webhookSecret(token, k.TELEGRAM_WEBHOOK_SECRET)) : undefined;
      };
      ctx.webhooks.register("telegram", {
        verify: (r) => {
          const secret = expected();
          return !!secret && constantTimeEqual(new TextEncoder().encode(r.headers.get("x-telegram-bot-api-secret-token") ?? ""), secret);
        },
        maxBodyBytes: WEBHOOK_MAX_BYTES,
        handle: async (update) => {
          const adapter = outbox.adapter("telegram") as TelegramAdapter | undefined;
          // Anything but a 2xx and Telegram sends the update again later.
          if (!adapter) throw new AppError("not_connected", "Telegram is still connecting; send the update again");
          await adapter.handleWebhook(update);
        },
      });
    }

    platformLink({
      platform: "discord",
      ctx,
      configured: botToken(ctx.config, "discord"),
      secrets,
      connect: async (token, signal) => {
        const { DiscordAdapter } = await import("./discord.ts");
        return DiscordAdapter.connect({
          token,
          apiBase: k.DISCORD_API_BASE,
          gatewayUrl: k.DISCORD_GATEWAY_URL,
          messageContent: k.DISCORD_MESSAGE_CONTENT,
          log: ctx.log.child({ platform: "discord" }),
          receive,
          cursors: () => runner.discordCursors(),
          signal,
        });
      },
      fix: "check DISCORD_BOT_TOKEN (configured or in Secrets), DISCORD_API_BASE and the network; run bakerst doctor",
      up,
      down,
    });

    ctx.onStop(async () => {
      for (const a of [...connected]) await down(a).catch((err) => ctx.log.warn("chat platform did not close cleanly", { platform: a.platform, error: (err as Error).message }));
    });
    outbox.start();
    reports.start();
    runner.resume();
    ctx.onStop(async () => {
      // Turns have finished by now (the brain drains first); their replies get a moment to go out, the rest waits on disk.
      runner.stop();
      reports.stop();
      await outbox.drained(2_000);
      await outbox.stop(2_000);
    });
  },
});
