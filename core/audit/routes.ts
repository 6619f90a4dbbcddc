import { Elysia } from "elysia";
import { badRequest } from "../errors.ts";
import type { Services } from "../services.ts";
import { AUDIT_ACTIONS, AUDIT_OUTCOMES, type AuditOutcome } from "./actions.ts";
import type { AuditQuery } from "./service.ts";

const ACTION = /^[a-z_]{1,32}(\.[a-z_]{1,32}){0,3}$/;

/** A whole number in min..max, or a 400 naming the field ("1.5", "1e3", "" and "ten" are not). */
function integer(params: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  if (!/^\d{1,16}$/.test(raw) || Number(raw) < min || Number(raw) > max) throw badRequest(`${name}: expected a whole number in ${min}..${max}`);
  return Number(raw);
}

/** The query of GET /api/audit, read from the URL itself so no spelling of it can throw or slip through. */
export function auditQuery(url: string): AuditQuery {
  const params = new URL(url).searchParams;
  const action = params.get("action") ?? undefined;
  if (action !== undefined && !ACTION.test(action)) throw badRequest("action: expected an action name such as auth.login (GET /api/audit/actions lists them)");
  const outcome = params.get("outcome") ?? undefined;
  if (outcome !== undefined && !(AUDIT_OUTCOMES as readonly string[]).includes(outcome)) throw badRequest(`outcome: expected one of ${AUDIT_OUTCOMES.join(", ")}`);
  return {
    limit: integer(params, "limit", 1, 200) ?? 50,
    before: integer(params, "before", 1, Number.MAX_SAFE_INTEGER),
    action,
    outcome: outcome as AuditOutcome | undefined,
  };
}

export const auditRoutes = (s: Services) =>
  new Elysia({ name: "audit" })
    .get("/api/audit", ({ request }) => {
      const q = auditQuery(request.url);
      const events = s.audit.list(q);
      return { events, next: events.length === q.limit ? events[events.length - 1]!.id : null };
    })
    .get("/api/audit/actions", () => ({ actions: Object.entries(AUDIT_ACTIONS).map(([name, description]) => ({ name, description })) }));
