import { Elysia, t } from "elysia";
import { AppError } from "../errors.ts";
import { isErrorCode } from "../protocol/errors.ts";
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
        const { compactedThrough, compactedAt, summary, ...c } = s.conversations.get(params.id);
        const running = s.brain.activeTurn(c.id);
        return {
          ...c,
          running: running ? { turnId: running.id } : null,
          messages: s.conversations.messages(c.id),
          /** What the model sees instead of the messages up to `throughSeq`; null before the first compaction. */
          compaction: compactedThrough !== null ? { throughSeq: compactedThrough, at: compactedAt ?? 0, summary: summary ?? "" } : null,
          /** What each turn cost, by turn id. */
          usage: s.models.ledger.byTurn(c.id),
        };
      },
      { params: Id },
    )
    .patch("/api/conversations/:id", ({ params, body }) => s.conversations.rename(params.id, body.title.trim()), {
      params: Id,
      body: t.Object({ title: t.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
    })
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
      "/api/conversations/:id/compact",
      async ({ params }) => {
        s.conversations.get(params.id);
        if (s.brain.activeTurn(params.id)) throw new AppError("conversation_busy", `conversation ${params.id} is answering a message; compact it when the turn has ended`);
        const turn = s.brain.start({ message: "/compact", conversationId: params.id });
        const r = await turn.done;
        if (r.error) throw new AppError(isErrorCode(r.error.code) ? r.error.code : "internal", r.error.message);
        const n = r.notices[0];
        return { compacted: n?.code === "compacted", message: r.text };
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
