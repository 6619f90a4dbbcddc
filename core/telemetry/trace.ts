import { randomToken } from "../util/crypto.ts";

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/** Continues a W3C trace from `traceparent` when the caller sent one, else starts a new trace id. */
export function traceIdFrom(headers: Headers): string {
  const parent = headers.get("traceparent");
  const m = parent ? TRACEPARENT.exec(parent.trim().toLowerCase()) : null;
  if (m?.[1] && !/^0+$/.test(m[1])) return m[1];
  return randomToken(16);
}
