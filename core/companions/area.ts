import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { defineArea } from "../area/types.ts";
import type { Config } from "../config/index.ts";
import { Signer } from "../protocol/index.ts";
import { companionsKeys, type CompanionsSettings } from "./keys.ts";
import { CompanionLink } from "./link.ts";
import { companionRoutes } from "./routes.ts";
import { CompanionService } from "./service.ts";
import { registerCompanionTools } from "./tools.ts";

const compiled = () => import.meta.path.startsWith("/$bunfs/") || import.meta.path.startsWith("B:/~BUN/");

/** Where `bakerst nats init` keeps the server config and creds: the setting, else above NATS_CREDS's creds/, else the data dir. */
export function natsDirOf(config: Config, settings: CompanionsSettings): string {
  if (settings.COMPANION_NATS_DIR) return resolve(settings.COMPANION_NATS_DIR);
  const creds = config.nats.credsFile;
  if (creds && basename(dirname(resolve(creds))) === "creds") return dirname(dirname(resolve(creds)));
  return join(config.dataDir, "nats");
}

/** The core's signing key is its own NATS identity (creds/core.nk); companions need NATS and that seed. */
export function coreSigner(config: Config, busKind: "local" | "nats"): Signer | string {
  if (busKind !== "nats") return "companions need NATS: set NATS_URL (and NATS_CREDS = creds/core.nk from bakerst nats init)";
  const file = config.nats.credsFile;
  if (!file) return "companions need the core's nkey identity: set NATS_CREDS to creds/core.nk from bakerst nats init";
  try {
    return new Signer(readFileSync(file, "utf8").trim());
  } catch (err) {
    return `NATS_CREDS ${file} is not an nkey seed the core can sign with (${(err as Error).message}); use creds/core.nk from bakerst nats init`;
  }
}

/** Companions: machines outside the cluster that run tasks, paired with signed identities and reached over NATS. */
export const companionsArea = defineArea({
  name: "companions",
  needs: ["tasks"],
  config: { keys: companionsKeys },
  async start(ctx) {
    const settings = ctx.config.read(companionsKeys);
    const tasks = ctx.need("tasks");
    const signer = coreSigner(ctx.config, ctx.bus.kind);
    if (typeof signer === "string") {
      ctx.log.info("companions are off", { why: signer });
      ctx.routes(companionRoutes({ companions: undefined, tasks, why: signer }));
      ctx.health.register("companions", () => ({ status: "disabled", detail: signer }));
      return;
    }
    const now = () => Date.now();
    const binary = settings.COMPANION_BINARY ?? (compiled() ? join(dirname(process.execPath), "bakerst-satellite") : resolve("dist/bakerst-satellite"));
    let link: CompanionLink | undefined;
    const companions = new CompanionService({
      db: ctx.store.db,
      audit: ctx.audit,
      natsDir: natsDirOf(ctx.config, settings),
      natsUrl: settings.COMPANION_NATS_URL ?? ctx.config.nats.url!,
      binary: existsSync(binary) ? binary : undefined,
      corePublicKey: signer.publicKey,
      offlineMs: settings.COMPANION_OFFLINE_MS,
      version: ctx.version,
      now,
      onPaired: (id) => tasks.addTarget(id, link!.launcher(id)),
      onRevoked: async (id) => {
        tasks.removeTarget(id);
        await link!.forget(id);
      },
    });
    link = new CompanionLink({ bus: ctx.bus, signer, companions, audit: ctx.audit, log: ctx.log, taskWaitMs: settings.COMPANION_TASK_WAIT_MS, now });
    await link.start(Math.max(50, Math.min(5_000, Math.floor(settings.COMPANION_OFFLINE_MS / 3))));
    for (const id of companions.paired()) tasks.addTarget(id, link.launcher(id));
    registerCompanionTools(ctx.tools, companions);
    ctx.routes(companionRoutes({ companions, tasks, why: "" }));
    ctx.health.register("companions", () => {
      const all = companions.list().filter((c) => c.status !== "revoked");
      const online = all.filter((c) => c.status === "online").length;
      return { status: "ok", paired: all.length, online, offline: all.length - online, refused: link!.refusals.byReason, corePublicKey: signer.publicKey };
    });
    ctx.onStop(() => link!.stop());
  },
});
