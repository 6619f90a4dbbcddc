import { Elysia, t } from "elysia";
import type { Services } from "../services.ts";
import { QueryText, queryInt } from "./query.ts";

const Id = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) });

export const conversationRoutes = (s: Services) =>
  new Elysia({ name: "conversations" })
    .get(
      "/api/conversations",
      ({ query }) => {
        const limit = queryInt(query.limit, "limit", 1, 200, 50);
        const items = s.conversations.list({ limit, before: queryInt(query.before, "before", 0, Number.MAX_SAFE_INTEGER), q: query.q });
        return {
          conversations: items.map((c) => ({ ...c, running: !!s.brain.activeTurn(c.id) })),
          next: items.length === limit ? items[items.length - 1]!.updatedAt : null,
        };
      },
      {
        query: t.Object({
          limit: QueryText,
          before: QueryText,
          q: QueryText,
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
