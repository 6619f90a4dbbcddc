/**
 * The bus every area gets: in-process over SQLite (edge mode) or NATS
 * JetStream (cluster mode). The satellite imports this folder too.
 */
import type { Database } from "bun:sqlite";
import type { Authenticator } from "@nats-io/transport-node";
import { LocalBus } from "./local.ts";
import type { Bus } from "./types.ts";

export * from "./types.ts";
export { LocalBus } from "./local.ts";

export interface OpenBusOptions {
  /** Unset: the in-process bus over `sqlite`. */
  natsUrl?: string;
  authenticator?: Authenticator;
  inboxPrefix?: string;
  sqlite: Database;
  /** Connection name the NATS server shows. */
  name: string;
  log?: (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
}

export async function openBus(opts: OpenBusOptions): Promise<Bus> {
  if (!opts.natsUrl) return new LocalBus(opts.sqlite);
  // The NATS client loads only in cluster mode.
  const { NatsBus } = await import("./nats.ts");
  return NatsBus.open({
    url: opts.natsUrl,
    name: opts.name,
    ...(opts.authenticator ? { authenticator: opts.authenticator } : {}),
    ...(opts.inboxPrefix ? { inboxPrefix: opts.inboxPrefix } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
}
