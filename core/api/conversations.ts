import { Elysia, t } from "elysia";
import type { Services } from "../services.ts";

const Id = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) });

export const conversationRoutes = (s: Services) =>
  new Elysia({ name: "conversations" })
    .get(
      "/api/conversations",
      ({ query }) => {
        const limit = query.limit ?? 50;
        const items = s.conversations.list({ limit, before: query.before, q: query.q });
        return {
          conversations: items.map((c) => ({ ...c, running: !!s.brain.activeTurn(c.id) })),
          next: items.length === limit ? items[items.length - 1]!.updatedAt : null,
        };
      },
      {
        query: t.Object({
          limit: t.Optional(t.Numeric({ minimum: 1, maximum: 200 })),
          before: t.Optional(t.Numeric({ minimum: 0 })),
          q: t.Optional(t.String({ maxLength: 200 })),
        }),
      },
    )
    .get(
      "/api/conversations/:id",
      ({ params }) => {
        const c = s.conversations.get(params.id);
        const running = s.brain.activeTurn(c.id);
        return { ...c, running: running ? { turnId: running.id } : null, messages: s.conversations.messages(c.id) };
      },
      { params: Id },
    )
    .patch(
      "/api/conversations/:id",
      ({ params, body }) => s.conversations.rename(params.id, body.title.trim()),
      { params: Id, body: t.Object({ title: t.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }) },
    )
    .delete(
      "/api/conversations/:id",
      ({ params }) => {
        s.brain.stop(params.id);
        s.conversations.delete(params.id);
        return { ok: true };
      },
      { params: Id },
    )
    .post(
      "/api/conversations/:id/stop",
      ({ params }) => {
        s.conversations.get(params.id);
        return { stopped: s.brain.stop(params.id) };
      },
      { params: Id },
    );
