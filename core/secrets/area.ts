import { sql } from "drizzle-orm";
import { defineArea } from "../area/types.ts";
import { ConfigError } from "../config/index.ts";
import { loadKey } from "./cipher.ts";
import { secretsKeys } from "./keys.ts";
import { secretsChecks } from "./offline.ts";
import { secretRoutes } from "./routes.ts";
import { secrets } from "./secrets.sql.ts";
import { SecretStore } from "./service.ts";

declare module "../area/types.ts" {
  interface Provided {
    secrets: SecretStore;
  }
}

/**
 * The owner's secrets: write-only over the API, sealed at rest under a key
 * kept apart from the database, read by what uses them (chat platforms,
 * skills) and redacted from every output. See docs/secrets.md.
 */
export const secretsArea = defineArea({
  name: "secrets",
  provides: ["secrets"],
  config: { keys: secretsKeys },
  doctor: secretsChecks,
  start(ctx) {
    const settings = ctx.config.read(secretsKeys);
    const keyIds = ctx.store.db.select({ keyId: secrets.keyId, n: sql<number>`count(*)` }).from(secrets).groupBy(secrets.keyId).all();
    const stored = keyIds.reduce((n, r) => n + r.n, 0);
    const key = loadKey(settings, ctx.config.dataDir, stored);
    const foreign = keyIds.filter((r) => r.keyId !== key.id);
    if (foreign.length) {
      // Nothing is changed: with the right key back, every secret reads again.
      const n = foreign.reduce((s, r) => s + r.n, 0);
      throw new ConfigError(
        key.setting,
        `the key that sealed the ${n} stored secret(s) (key id ${foreign.map((r) => r.keyId).join(", ")}), but ${key.source} holds key id ${key.id}; ` +
          "put the right key back (nothing was changed)",
        key.source,
      );
    }
    if (key.created) ctx.log.info("created the secrets key; back it up apart from the database (a backup of the database alone cannot read its secrets)", { path: key.source });
    const store = new SecretStore({ db: ctx.store.db, key, audit: ctx.audit, log: ctx.log });
    ctx.addSecrets(() => store.values());
    ctx.provide("secrets", store);
    ctx.routes(secretRoutes(store));
    ctx.health.register("secrets", () => ({ status: "ok", stored: store.names().length, key: key.setting === "SECRETS_KEY" ? "environment" : "file" }));
  },
});
