import { Elysia, t } from "elysia";
import { addressOf } from "../audit/http.ts";
import type { Services } from "../services.ts";
import type { ComponentHealth } from "../telemetry/health.ts";
import { PLATFORMS, type Platform } from "./keys.ts";
import type { Outbox } from "./outbox.ts";
import type { Pairings } from "./pairing.ts";

const Id = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) });
const who = (request: Request) => ({ actor: request.headers.has("authorization") ? "api" : "web", address: addressOf(request) });

/** GET /api/channels and the pairing actions behind the console's Channels page. */
export const channelRoutes = (pairings: Pairings, outbox: Outbox) => (s: Services) =>
  new Elysia({ name: "channels" })
    .get("/api/channels", async () => {
      const { components } = await s.health.report();
      const adapters: (ComponentHealth & { platform: Platform })[] = PLATFORMS.map((platform) => ({ ...(components[platform] ?? { status: "disabled" }), platform }));
      return { adapters, ...pairings.list(), outbox: outbox.counts() };
    })
    .post("/api/channels/pairings/approve", ({ body, request }) => pairings.approve(body.code, who(request)), {
      body: t.Object(
        { code: t.String({ minLength: 1, maxLength: 32, error: "code: expected the pairing code the chat was given, e.g. ABCD-2345" }) },
        { additionalProperties: false },
      ),
    })
    .patch("/api/channels/pairings/:id", ({ params, body }) => pairings.setNotify(params.id, body.notify), {
      params: Id,
      body: t.Object({ notify: t.Boolean() }, { additionalProperties: false }),
    })
    .delete("/api/channels/pairings/:id", ({ params, request }) => pairings.revoke(params.id, who(request)), { params: Id });
