import { Elysia } from "elysia";
import { addressOf } from "../audit/http.ts";
import { AppError, notFound } from "../errors.ts";
import type { Services } from "../services.ts";
import { readJson } from "./body.ts";

/** A caller from outside that proves itself with its own secret (a chat platform, a forge), not the API token. */
export interface WebhookHandler {
  /** Checks the caller from the request's headers alone, before the body is read; compare secrets in constant time. */
  verify(request: Request): boolean;
  /** Largest body read once `verify` passed. */
  maxBodyBytes: number;
  /** Handles the parsed body; a 2xx tells the caller it is done with. */
  handle(body: unknown): Promise<unknown> | unknown;
}

/** Webhooks by name: `POST /api/webhooks/<name>`, registered by the areas that take them. */
export class Webhooks {
  private handlers = new Map<string, WebhookHandler>();

  register(name: string, handler: WebhookHandler): () => void {
    if (!WEBHOOK_NAME.test(name)) throw new Error(`webhook name ${JSON.stringify(name)}: lower-case letters, digits and dashes`);
    this.handlers.set(name, handler);
    return () => this.handlers.get(name) === handler && this.handlers.delete(name);
  }

  get(name: string): WebhookHandler | undefined {
    return this.handlers.get(name);
  }
}

export const WEBHOOK_NAME = /^[a-z][a-z0-9-]{0,31}$/;

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
