/**
 * Edge mode hosts the satellite's worker in-process, on the SQLite bus. This is
 * the one place core imports from satellite/ (a test keeps it that way).
 */
import { buildPolicies, Redactor, Worker } from "../../satellite/worker/index.ts";
import type { AreaContext } from "../area/types.ts";
import { ConfigError } from "../config/index.ts";
import { logFn } from "../telemetry/log.ts";
import type { JobsSettings } from "./keys.ts";

/** The worker's policies from config; a bad allowlist or host rule names its key. */
function policies(j: JobsSettings) {
  try {
    return buildPolicies({
      ...(j.COMMAND_ALLOWLIST ? { commandAllowlist: j.COMMAND_ALLOWLIST } : {}),
      commandTimeoutMs: j.COMMAND_TIMEOUT_MS,
      httpAllow: j.HTTP_JOB_ALLOW,
      httpDeny: j.HTTP_JOB_DENY,
      httpTimeoutMs: j.HTTP_JOB_TIMEOUT_MS,
    });
  } catch (err) {
    const m = /^([A-Z_]+): (.*)$/.exec((err as Error).message);
    if (m) throw new ConfigError(m[1]!, m[2]!, "config");
    throw err;
  }
}

/** Builds (and so validates) the in-process worker; the caller starts it. Its model is the core's router: budget and usage records included. */
export function createEdgeWorker(ctx: AreaContext, j: JobsSettings, id: string): Worker {
  return new Worker({
    bus: ctx.bus,
    ackWaitMs: j.JOB_ACK_WAIT_MS,
    id,
    concurrency: j.WORKER_CONCURRENCY,
    version: ctx.version,
    heartbeatMs: j.HEARTBEAT_INTERVAL_MS,
    log: logFn(ctx.log.child({ worker: id })),
    executors: {
      ...policies(j),
      redactor: new Redactor(ctx.secrets()),
      model: { router: ctx.models.router, recordsUsage: true },
    },
  });
}
