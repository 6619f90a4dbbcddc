import { Elysia, t } from "elysia";
import { MAX_MESSAGE_CHARS } from "../brain/brain.ts";
import { AppError, notFound } from "../errors.ts";
import type { Services } from "../services.ts";
import { QueryText, queryInt } from "./query.ts";
import { sseResponse } from "./sse.ts";

export const ChatBody = t.Object(
  {
    message: t.String({ minLength: 1, maxLength: MAX_MESSAGE_CHARS, error: `message: expected a non-empty string of at most ${MAX_MESSAGE_CHARS} characters` }),
    conversationId: t.Optional(t.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

/** A bearer token is a program calling the API; the session cookie is the owner in the console. */
const originOf = (request: Request) => (request.headers.has("authorization") ? ("api" as const) : ("web" as const));

const headerMap = (set: { headers: Record<string, unknown> }) => Object.fromEntries(Object.entries(set.headers).filter((e): e is [string, string] => typeof e[1] === "string"));

export const chatRoutes = (s: Services) =>
  new Elysia({ name: "chat" })
    .post(
      "/api/chat",
      async ({ body, set, request }) => {
        if (!body.message.trim()) throw new AppError("invalid_request", "message: must not be blank");
        const turn = s.brain.start({ message: body.message, conversationId: body.conversationId, origin: originOf(request) });
        const r = await turn.done;
        s.metrics.turns.inc({ outcome: r.error ? r.error.code : "ok" });
        if (r.error) {
          set.status = r.error.status >= 400 && r.error.status < 600 ? r.error.status : 502;
          return { error: { code: r.error.code, message: r.error.message }, conversationId: r.conversationId, messageId: r.messageId, text: r.text };
        }
        return { conversationId: r.conversationId, messageId: r.messageId, text: r.text, toolCalls: r.toolCalls, usage: r.usage, notices: r.notices };
      },
      { body: ChatBody },
    )
    .post(
      "/api/chat/stream",
      ({ body, set, request }) => {
        if (!body.message.trim()) throw new AppError("invalid_request", "message: must not be blank");
        const turn = s.brain.start({ message: body.message, conversationId: body.conversationId, origin: originOf(request) });
        void turn.done.then((r) => s.metrics.turns.inc({ outcome: r.error ? r.error.code : "ok" }));
        return sseResponse(turn, 0, headerMap(set));
      },
      { body: ChatBody },
    )
    // Resume a turn's stream after the last event id the client saw.
    .get(
      "/api/chat/stream/:turnId",
      ({ params, request, query, set }) => {
        const header = request.headers.get("last-event-id");
        const after = header !== null ? queryInt(header, "Last-Event-ID", 0, Number.MAX_SAFE_INTEGER, 0) : queryInt(query.after, "after", 0, Number.MAX_SAFE_INTEGER, 0);
        const turn = s.brain.turn(params.turnId);
        if (!turn) throw notFound("turn", params.turnId);
        return sseResponse(turn, after, headerMap(set));
      },
      { query: t.Object({ after: QueryText }) },
    );
