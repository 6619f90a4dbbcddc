import { Elysia, t } from "elysia";
import type { ProviderName } from "../agent/types.ts";
import { AppError } from "../errors.ts";
import { ModelsConfigBody } from "../models/settings.ts";
import type { Services } from "../services.ts";
import { QueryText, queryInt } from "./query.ts";

const LIST_TTL_MS = 60_000;

export const modelRoutes = (s: Services) => {
  const cache = new Map<ProviderName, { at: number; models?: string[]; error?: string }>();
  const listed = async (name: ProviderName) => {
    const hit = cache.get(name);
    if (hit && Date.now() - hit.at < LIST_TTL_MS) return hit;
    const provider = s.models.router.provider(name)!;
    let entry: { at: number; models?: string[]; error?: string };
    try {
      entry = { at: Date.now(), models: await provider.listModels(AbortSignal.timeout(5_000)) };
    } catch (err) {
      entry = { at: Date.now(), error: (err as Error).message };
    }
    cache.set(name, entry);
    return entry;
  };
  return new Elysia({ name: "models" })
    .get("/api/models", async () => {
      const breakers = s.models.router.health();
      const providers = await Promise.all(
        s.models.router.providers().map(async (name) => {
          const l = await listed(name);
          return { name, circuit: breakers[name], models: l.models ?? [], ...(l.error ? { error: l.error } : {}) };
        }),
      );
      return { providers, roles: s.models.settings.roles() };
    })
    .get("/api/models/config", () => s.models.settings.view())
    .put(
      "/api/models/config",
      ({ body }) => {
        try {
          s.models.settings.update(body);
        } catch (err) {
          throw new AppError("invalid_request", (err as Error).message);
        }
        return s.models.settings.view();
      },
      { body: ModelsConfigBody },
    )
    .get("/api/usage", ({ query }) => s.models.ledger.byDay(queryInt(query.days, "days", 1, 366, 30)), { query: t.Object({ days: QueryText }) });
};
