import { currentSpan } from "./tracing.ts";

export type Level = "debug" | "info" | "warn" | "error" | "silent";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/**
 * One JSON object per line on stderr: what log shippers and `jq` both read.
 * A line written inside a span (a request, a turn, a job) carries its `traceId`.
 * `redact` sees every line before it is written (the kernel's replaces every secret the process holds).
 */
export function createLogger(
  level: Level = "info",
  base: Record<string, unknown> = {},
  write: (line: string) => unknown = (line) => process.stderr.write(line),
  redact?: (line: string) => string,
): Logger {
  const min = ORDER[level];
  const emit = (lvl: Exclude<Level, "silent">, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return;
    const traceId = currentSpan()?.traceId;
    const rec: Record<string, unknown> = { t: new Date().toISOString(), level: lvl, msg, ...base, ...fields, ...(traceId ? { traceId } : {}) };
    for (const [k, v] of Object.entries(rec)) if (v instanceof Error) rec[k] = { name: v.name, message: v.message };
    const line = JSON.stringify(rec);
    write(`${redact ? redact(line) : line}\n`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write, redact),
  };
}

export const silentLogger: Logger = createLogger("silent");

/** A Logger as the plain function the agent loop, the bus and the worker take. */
export const logFn =
  (log: Logger) =>
  (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void =>
    log[level](msg, fields);
