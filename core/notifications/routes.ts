import { Elysia, t } from "elysia";
import type { Services } from "../services.ts";

export const notificationRoutes = (s: Services) =>
  new Elysia({ name: "notifications" })
    .get(
      "/api/notifications",
      ({ query }) => {
        const limit = query.limit ?? 50;
        const items = s.notifications.list({ limit, unread: query.unread, before: query.before });
        return { notifications: items, next: items.length === limit ? items[items.length - 1]!.createdAt : null };
      },
      {
        query: t.Object({
          limit: t.Optional(t.Integer({ minimum: 1, maximum: 200 })),
          before: t.Optional(t.Integer({ minimum: 0 })),
          unread: t.Optional(t.BooleanString()),
        }),
      },
    )
    .post("/api/notifications/:id/read", ({ params }) => s.notifications.markRead(params.id), { params: t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) }) });
