/**
 * How the core meets NATS in cluster mode: with its own identity and inbox,
 * and only on a server that refuses clients without credentials (unless the
 * owner said NATS_INSECURE). The NATS client loads only when called.
 */
import { readFileSync } from "node:fs";
import type { Authenticator } from "@nats-io/transport-node";
import type { Bus } from "../bus/types.ts";
import { type Config, ConfigError } from "../config/index.ts";
import { AppError } from "../errors.ts";
import { inboxPrefix } from "../protocol/permissions.ts";
import type { ComponentHealth } from "../telemetry/health.ts";
import { type Logger, logFn } from "../telemetry/log.ts";

const CORE_INBOX = inboxPrefix({ role: "core" });

/** The core's connect options; a credentials file that cannot be read or used is a config error naming NATS_CREDS. */
export async function coreAuth(nats: Config["nats"]): Promise<{ authenticator?: Authenticator; inboxPrefix: string }> {
  if (!nats.credsFile) return { inboxPrefix: CORE_INBOX };
  const { natsAuthenticator } = await import("../bus/nats-connect.ts");
  try {
    return { authenticator: natsAuthenticator(readFileSync(nats.credsFile), nats.credsFile), inboxPrefix: CORE_INBOX };
  } catch (err) {
    throw new ConfigError("NATS_CREDS", `a readable nkey seed or .creds file (${(err as Error).message})`, "environment or config file");
  }
}

export type NatsExposure = { open: false; detail: string } | { open: true; detail: string; fix: string };

const FIX =
  "run `bakerst nats init`, start nats-server with the config it writes and set NATS_CREDS to its creds/core.nk (see README, NATS identities); or set NATS_INSECURE=true to run on an open NATS anyway";

/**
 * Whether anyone can use the server at NATS_URL: true when the core itself has
 * no credentials, or when a connection without any is let in.
 */
export async function natsExposure(nats: Config["nats"], timeoutMs = 3_000): Promise<NatsExposure> {
  if (!nats.credsFile) return { open: true, detail: "NATS_CREDS is not set, so the core connects without an identity", fix: FIX };
  const { connect } = await import("@nats-io/transport-node");
  try {
    const nc = await connect({ servers: nats.url, timeout: timeoutMs, reconnect: false, name: "bakerst-anonymous-probe" });
    await nc.close();
    return { open: true, detail: `${nats.url} lets in a client without credentials`, fix: FIX };
  } catch (err) {
    const refused = /authorization/i.test((err as Error).message);
    return { open: false, detail: refused ? "anonymous connections are refused" : `an anonymous connection failed (${(err as Error).message})` };
  }
}

/** Start-up stops on an open NATS; a ConfigError so the binary prints it and exits 2. */
export class OpenNatsError extends ConfigError {
  override name = "OpenNatsError";
  constructor(url: string, exposure: Extract<NatsExposure, { open: true }>) {
    super("NATS_INSECURE", "true to accept an open NATS", "cluster mode");
    this.message = `NATS at ${url} is open: ${exposure.detail}. Anyone who reaches it could dispatch jobs, read their output and forge their results. To fix: ${exposure.fix}.`;
  }
}

/**
 * The core's bus in cluster mode. Refuses an open NATS (no credentials, or a
 * server that also lets in a client without any) unless NATS_INSECURE, before
 * creating anything on it.
 */
export async function openCoreNatsBus(config: Config, log: Logger): Promise<{ bus: Bus; exposure: NatsExposure }> {
  const { url, insecure } = config.nats;
  if (!url) throw new Error("openCoreNatsBus needs NATS_URL");
  const auth = await coreAuth(config.nats);
  const exposure = await natsExposure(config.nats);
  if (exposure.open && !insecure) throw new OpenNatsError(url, exposure);
  if (exposure.open) log.warn("NATS is open and NATS_INSECURE=true: anyone who reaches it can dispatch jobs and forge their results", { url, detail: exposure.detail });
  try {
    const { NatsBus } = await import("../bus/nats.ts");
    const bus = await NatsBus.open({ url, ...auth, name: "bakerst-core", log: logFn(log) });
    return { bus, exposure };
  } catch (err) {
    throw new AppError("nats_unreachable", `cannot use NATS at ${url}: ${(err as Error).message} (check NATS_URL/NATS_CREDS, or unset NATS_URL for edge mode)`);
  }
}

/** The `nats_auth` component of GET /api/system/health. */
export function natsAuthHealth(exposure: NatsExposure): ComponentHealth {
  return exposure.open
    ? { status: "degraded", detail: `open NATS accepted (NATS_INSECURE=true): ${exposure.detail}`, fix: exposure.fix }
    : { status: "ok", detail: exposure.detail };
}
