import { Elysia, t } from "elysia";
import { addressOf, addressOfClient } from "../audit/http.ts";
import { SESSION_COOKIE, SESSION_TTL_MS, sessionIdsFrom } from "../auth/sessions.ts";
import { tokensEqual } from "../auth/token.ts";
import type { Services } from "../services.ts";
import { clientKey } from "./client-ip.ts";
import { errorResponse } from "./errors.ts";

function tooMany(ms: number): Response {
  const secs = Math.ceil(ms / 1000);
  return errorResponse("rate_limited", `too many failed attempts; try again in ${secs} s`, { "retry-after": String(secs) });
}

/**
 * Bearer token or session cookie; anything else is 401. A wrong token counts
 * against the client, and past the limit even the right one waits.
 */
export function authenticate(s: Services, request: Request, client: string): Response | undefined {
  const header = request.headers.get("authorization");
  if (header) {
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    const blocked = s.limiter.blockedFor(client);
    if (blocked) return tooMany(blocked);
    if (m?.[1] && tokensEqual(m[1].trim(), s.token.token)) return undefined;
    s.audit.record({ action: "auth.bearer", outcome: "failed", actor: "api", address: addressOfClient(client) });
    s.limiter.fail(client);
    return errorResponse("unauthorized", "the bearer token is not valid", { "www-authenticate": 'Bearer realm="bakerst"' });
  }
  const { ids, malformed } = sessionIdsFrom(request.headers.get("cookie"));
  void s.token.token; // notices a rotated token file, which ends every session
  if (ids.some((id) => s.sessions.valid(id))) return undefined;
  const why = ids.length ? "the session has expired; log in again" : malformed ? "the session cookie is malformed; log in again" : "log in, or send Authorization: Bearer <token>";
  return errorResponse("unauthorized", why, { "www-authenticate": 'Bearer realm="bakerst"' });
}

function cookie(id: string, maxAgeSec: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(id)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSec}${secure ? "; Secure" : ""}`;
}

const isHttps = (request: Request) => new URL(request.url).protocol === "https:" || request.headers.get("x-forwarded-proto") === "https";

export const authRoutes = (s: Services) =>
  new Elysia({ name: "auth" })
    .post(
      "/api/auth/login",
      ({ body, request, set }) => {
        const who = clientKey(request);
        const blocked = s.limiter.blockedFor(who);
        if (blocked) return tooMany(blocked);
        const unknown = Object.keys(body).filter((k) => k !== "token" && k !== "code");
        if (unknown.length) {
          return errorResponse("invalid_request", `${unknown[0]}: unexpected field; send { token } with the API token, or { code } with a one-time login code`);
        }
        if (body.token === undefined && body.code === undefined) {
          return errorResponse("invalid_request", "token: send the API token (or code: a one-time login code)");
        }
        if (body.code !== undefined) {
          if (!s.sessions.loginCodes.redeem(body.code)) {
            s.audit.record({ action: "auth.login", outcome: "failed", actor: "web", address: addressOf(request), detail: { with: "code", code: "invalid_code" } });
            s.limiter.fail(who);
            return errorResponse("invalid_code", "that login link has been used or has expired; log in with the token (`bakerst token` prints it)");
          }
        } else if (!tokensEqual(body.token!, s.token.token)) {
          s.audit.record({ action: "auth.login", outcome: "failed", actor: "web", address: addressOf(request), detail: { with: "token", code: "invalid_token" } });
          s.limiter.fail(who);
          return errorResponse("invalid_token", "that token is not right; `bakerst token` prints it");
        }
        s.limiter.reset(who);
        s.audit.record({ action: "auth.login", outcome: "ok", actor: "web", address: addressOf(request), detail: { with: body.code !== undefined ? "code" : "token" } });
        const session = s.sessions.create();
        set.headers["set-cookie"] = cookie(session.id, Math.floor(SESSION_TTL_MS / 1000), isHttps(request));
        return { ok: true, expiresAt: new Date(session.expiresAt).toISOString() };
      },
      {
        body: t.Object(
          {
            token: t.Optional(t.String({ minLength: 1, maxLength: 512 })),
            code: t.Optional(t.String({ minLength: 1, maxLength: 128 })),
          },
          // Unknown fields are refused below, with a message that says what to send instead.
          { additionalProperties: true },
        ),
      },
    )
    .post("/api/auth/logout", ({ request, set }) => {
      let ended = false;
      for (const id of sessionIdsFrom(request.headers.get("cookie")).ids) ended = s.sessions.revoke(id) || ended;
      if (ended) s.audit.record({ action: "auth.logout", outcome: "ok", actor: "web", address: addressOf(request) });
      set.headers["set-cookie"] = cookie("", 0, isHttps(request));
      return { ok: true };
    })
    .get("/api/auth/session", () => ({ ok: true }));
