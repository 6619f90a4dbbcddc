import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { defineArea } from "../area/types.ts";
import { coreSigner, natsDirOf } from "./identity.ts";
import { companionsKeys } from "./keys.ts";
import { CompanionLink } from "./link.ts";
import { companionRoutes } from "./routes.ts";
import { CompanionService } from "./service.ts";
import { registerCompanionTools } from "./tools.ts";

const compiled = () => import.meta.path.startsWith("/$bunfs/") || import.meta.path.startsWith("B:/~BUN/");

/** Companions: machines outside the cluster that run tasks, paired with signed identities and reached over NATS. */
export const companionsArea = defineArea({
  name: "companions",
  needs: ["tasks"],
  config: { keys: companionsKeys },
  doctor: async (config) => (await import("./doctor.ts")).companionChecks(config),
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
