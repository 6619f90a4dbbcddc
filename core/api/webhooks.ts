import { Elysia } from "elysia";
import { addressOf } from "../audit/http.ts";
import { AppError, notFound } from "../errors.ts";
import type { Services } from "../services.ts";
import { readJson } from "./body.ts";

/**
 * The one route open without the API token besides login: each webhook
 * checks its own secret from the headers, so a caller without it costs a
 * map lookup and a comparison, and its body is never read.
 */
export const webhookRoutes = (s: Services) =>
  new Elysia({ name: "webhooks" }).post("/api/webhooks/:name", async ({ params, request }) => {
    const handler = s.webhooks.get(params.name);
    if (!handler) throw notFound("webhook", params.name);
    if (!handler.verify(request)) {
      s.audit.record({ action: "webhook.refused", outcome: "refused", actor: "system", address: addressOf(request), target: params.name });
      throw new AppError("unauthorized", `webhook ${params.name}: missing or wrong secret`);
    }
    const result = await handler.handle(await readJson(request, handler.maxBodyBytes));
    return result ?? { ok: true };
  });
