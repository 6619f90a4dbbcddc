/**
 * Trace context rides in NATS headers as W3C `traceparent`, so a job's spans
 * join the HTTP request that dispatched it.
 */
export const TRACEPARENT = "traceparent";

const PARENT = /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-[\da-f]{2}$/;

function hex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Headers carrying `traceId` with a fresh span id; a new trace when none is given. */
export function traceHeaders(traceId?: string): Record<string, string> {
  const id = traceId && /^[\da-f]{32}$/.test(traceId) && !/^0+$/.test(traceId) ? traceId : hex(16);
  return { [TRACEPARENT]: `00-${id}-${hex(8)}-01` };
}

/** The trace id from message headers, or undefined when absent or malformed. */
export function traceIdOf(headers: Record<string, string> | undefined): string | undefined {
  const raw = headers?.[TRACEPARENT];
  const m = raw ? PARENT.exec(raw.trim().toLowerCase()) : null;
  return m?.[1] && !/^0+$/.test(m[1]) ? m[1] : undefined;
}
