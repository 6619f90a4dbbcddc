import { clientKey } from "../api/client-ip.ts";
import type { AuditLog } from "./service.ts";

/** The client address of a request, for `AuditEvent.address`; none for requests made in-process. */
export const addressOf = (request: Request): string | undefined => addressOfClient(clientKey(request));

/** The same from the rate limiter's key for a client. */
export const addressOfClient = (key: string): string | undefined => (key === "local" ? undefined : key);

/** A browser origin as sent, when it is one (`scheme://host[:port]`); anything else is not written down. */
function originOf(request: Request): string {
  const origin = request.headers.get("origin");
  if (origin === null) return "(none)";
  try {
    return new URL(origin).origin === origin ? origin : "(malformed)";
  } catch {
    return "(malformed)";
  }
}

/** Passes a CORS preflight answer through, recording it when it refused the origin. */
export function auditPreflight(audit: AuditLog, request: Request, answer: Response): Response {
  if (answer.status === 403) audit.record({ action: "cors.refused", outcome: "refused", actor: "web", address: addressOf(request), detail: { origin: originOf(request) } });
  return answer;
}
