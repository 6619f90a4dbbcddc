import { type Check, elapsed } from "../cli/check.ts";
import type { Config } from "../config/index.ts";
import { storedSecret } from "../secrets/offline.ts";
import { botToken, gatewayKeys } from "./keys.ts";
import { TOKEN_NAMES } from "./link.ts";

const TIMEOUT_MS = 8_000;

/** Errors may quote the URL, and Telegram's URL holds the token. */
const clean = (message: string, token: string) => message.split(token).join("[token]");

// biome-ignore lint/suspicious/noExplicitAny: the platforms' JSON, read field by field with fallbacks
async function getJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
}

/** `bakerst doctor` lines for the chat platforms that have a token: the bot reachable, and (Telegram) the webhook as Telegram sees it. */
export async function gatewayChecks(config: Config): Promise<Check[]> {
  const k = config.read(gatewayKeys);
  const checks: Check[] = [];
  // The server reads a token kept in Secrets when none is configured; so does its check.
  const token = (platform: "telegram" | "discord") => botToken(config, platform) ?? storedSecret(config, TOKEN_NAMES[platform]);
  const telegram = token("telegram");
  if (telegram) {
    const t0 = performance.now();
    try {
      const me = await getJson(`${k.TELEGRAM_API_ROOT}/bot${telegram}/getMe`);
      if (!me.body?.ok) throw new Error(`${me.status}: ${me.body?.description ?? "no answer"}`);
      const mode = k.TELEGRAM_WEBHOOK_URL ? `webhook ${k.TELEGRAM_WEBHOOK_URL}` : "long polling";
      checks.push({ ok: true, name: "telegram", detail: `@${me.body.result.username} reachable in ${elapsed(t0)} (${mode})` });
      if (k.TELEGRAM_WEBHOOK_URL) {
        const info = (await getJson(`${k.TELEGRAM_API_ROOT}/bot${telegram}/getWebhookInfo`)).body?.result;
        const problem = info?.url !== k.TELEGRAM_WEBHOOK_URL ? `Telegram has ${JSON.stringify(info?.url ?? "")} (bakerst serve sets it at start)` : info?.last_error_message;
        checks.push(
          problem
            ? {
                ok: false,
                name: "telegram webhook",
                detail: clean(String(problem), telegram),
                fix: "check that TELEGRAM_WEBHOOK_URL reaches POST /api/webhooks/telegram from the internet over HTTPS",
              }
            : { ok: true, name: "telegram webhook", detail: `${info.pending_update_count ?? 0} updates waiting` },
        );
      }
    } catch (err) {
      checks.push({
        ok: false,
        name: "telegram",
        detail: `${k.TELEGRAM_API_ROOT}: ${clean((err as Error).message, telegram)}`,
        fix: "check TELEGRAM_BOT_TOKEN (from @BotFather), TELEGRAM_API_ROOT and the network; the bot starts degraded and retries meanwhile",
      });
    }
  }
  const discord = token("discord");
  if (discord) {
    const t0 = performance.now();
    const headers = { authorization: `Bot ${discord}` };
    try {
      const me = await getJson(`${k.DISCORD_API_BASE}/v10/users/@me`, { headers });
      if (me.status !== 200) throw new Error(`${me.status}: ${me.body?.message ?? "no answer"}`);
      const gw = await getJson(`${k.DISCORD_API_BASE}/v10/gateway/bot`, { headers });
      const url = k.DISCORD_GATEWAY_URL ?? gw.body?.url;
      checks.push({ ok: true, name: "discord", detail: `${me.body.username} reachable in ${elapsed(t0)}; gateway ${url}` });
    } catch (err) {
      checks.push({
        ok: false,
        name: "discord",
        detail: `${k.DISCORD_API_BASE}: ${clean((err as Error).message, discord)}`,
        fix: "check DISCORD_BOT_TOKEN, DISCORD_API_BASE and the network; the bot starts degraded and retries meanwhile",
      });
    }
  }
  return checks;
}
