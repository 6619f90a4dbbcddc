import { EXPIRES_HEADER } from "../protocol/queues.ts";
import type { Handler } from "./types.ts";

/** Keyed messages past their expiry are dropped on delivery instead of handed over. */
export function dropExpired(handler: Handler, now: () => number): Handler {
  return async (d) => {
    const at = Number(d.headers[EXPIRES_HEADER]);
    if (Number.isFinite(at) && at > 0 && at < now()) return d.term("expired before it could be delivered");
    return handler(d);
  };
}
