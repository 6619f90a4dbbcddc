import type { Retrying } from "../area/retrying.ts";
import type { AreaContext } from "../area/types.ts";
import type { SecretStore } from "../secrets/service.ts";
import type { ChatAdapter } from "./adapter.ts";
import type { Platform } from "./keys.ts";

/** The secret (and setting) that holds each platform's bot token. */
export const TOKEN_NAMES = { telegram: "TELEGRAM_BOT_TOKEN", discord: "DISCORD_BOT_TOKEN" } as const satisfies Record<Platform, string>;

export interface LinkOptions<A extends ChatAdapter> {
  platform: Platform;
  ctx: AreaContext;
  /** The token from the environment or the config file; it wins over the secrets store. */
  configured: string | undefined;
  secrets: SecretStore | undefined;
  connect(token: string, signal: AbortSignal): Promise<A>;
  fix: string;
  /** Connected: its replies may go out. */
  up(adapter: A): void;
  /** Its token changed or went: it stops sending and closes. */
  down(adapter: A): Promise<void>;
}

export interface Link {
  /** The token the platform is connected (or connecting) with now. */
  token(): string | undefined;
}

/**
 * One platform's connection under the token it has now: the configured one,
 * else the secret of the same name, and then whenever that secret changes the
 * old connection closes and a new one starts with the new token (or the
 * platform turns off when it is deleted): no restart needed.
 */
export function platformLink<A extends ChatAdapter>(o: LinkOptions<A>): Link {
  const name = TOKEN_NAMES[o.platform];
  let token: string | undefined;
  let run: Retrying<A> | undefined;
  const start = (t: string | undefined) => {
    token = t;
    if (!t) {
      o.ctx.health.register(o.platform, () => ({ status: "disabled", detail: `${name} is not set (neither configured nor in Secrets)` }));
      return;
    }
    run = o.ctx.retrying({
      name: o.platform,
      connect: (signal) => o.connect(t, signal),
      healthy: (a) => a.health(),
      fix: o.fix,
      onReady: (a) => o.up(a),
      dispose: (a) => a.close(),
    });
  };
  if (o.configured || !o.secrets) {
    start(o.configured);
    return { token: () => token };
  }
  const secrets = o.secrets;
  start(secrets.get(name));
  // Changes are applied one after the other, so two quick edits end on the last value.
  let applying = Promise.resolve();
  const unsubscribe = secrets.onChange(
    name,
    (value) => {
      applying = applying.then(async () => {
        const old = run;
        run = undefined;
        old?.stop();
        if (old?.value) await o.down(old.value).catch((err) => o.ctx.log.warn("chat platform did not close cleanly", { platform: o.platform, error: (err as Error).message }));
        o.ctx.log.info(value ? "bot token changed in Secrets; reconnecting" : "bot token deleted from Secrets; the platform is off", { platform: o.platform });
        start(value);
      });
    },
    `gateway:${o.platform}`,
  );
  o.ctx.onStop(async () => {
    unsubscribe();
    await applying;
  });
  return { token: () => token };
}
