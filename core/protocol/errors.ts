/**
 * Every error code bakerst answers with, in one table: the HTTP status it
 * maps to, whether it also crosses NATS (a job's `failed` status carries it),
 * and what it means. The API's `{ error: { code, message } }`, the job
 * statuses and the console all read codes from here.
 */
export const ERRORS = {
  invalid_request: { status: 400, description: "a field of the request is missing or has the wrong shape; the message names it" },
  invalid_json: { status: 400, description: "the request body is not valid JSON" },
  invalid_body: { status: 400, description: "the request body could not be read" },
  unauthorized: { status: 401, description: "no valid bearer token or session cookie" },
  invalid_token: { status: 401, description: "the API token given to log in is wrong" },
  invalid_code: { status: 401, description: "the one-time login code was used or has expired" },
  budget_exceeded: { status: 402, description: "today's model budget is spent; background work waits for tomorrow (UTC) or a higher DAILY_BUDGET_USD" },
  cors_forbidden: { status: 403, description: "the browser origin is not in CORS_ORIGINS" },
  foreign_host: {
    status: 403,
    description: "a call to /mcp addressed to a Host, or from an Origin, this server does not answer to (DNS rebinding protection); MCP_ALLOWED_HOSTS adds names",
  },
  cross_origin: { status: 403, description: "a write with the session cookie from another site (Origin / Sec-Fetch-Site); the console's own pages are let through" },
  not_found: { status: 404, description: "no such resource or route" },
  conversation_busy: { status: 409, description: "the conversation is already answering a message" },
  model_refused: { status: 422, description: "the model's safety filter stopped the answer; the turn is left out of what the model sees next" },
  payload_too_large: { status: 413, description: "the request body is larger than MAX_BODY_BYTES" },
  unsupported_media_type: { status: 415, description: "the body's content-type is not one this route reads" },
  rate_limited: { status: 429, description: "too many failed attempts from this client; wait for retry-after" },
  stopped: { status: 499, description: "the owner stopped the turn" },
  internal: { status: 500, wire: true, description: "something failed unexpectedly; the log has the details" },
  model_unavailable: { status: 502, description: "every model in the role's chain failed" },
  model_stream_interrupted: { status: 502, description: "the model failed after it had started answering; what it said is kept" },
  no_model: { status: 503, description: "no model is configured for the role" },
  shutting_down: { status: 503, description: "bakerst is shutting down and takes no new turns" },
  shutdown: { status: 503, description: "the turn was cut off by a shutdown" },
  not_connected: { status: 503, description: "the outside service this needs (a chat platform) is still connecting; try again in a moment" },
  nats_unreachable: { status: 503, description: "the NATS server in NATS_URL cannot be used" },
  // Job failures: these cross the wire in a job's final status.
  invalid_job: { status: 400, wire: true, description: "the job failed its schema or policy checks and was not run" },
  refused: { status: 403, wire: true, description: "the job was refused by the worker's policy (allowlist, a program's grammar, the sandbox, host rules)" },
  timeout: { status: 504, wire: true, description: "the job ran past its timeout and was stopped" },
  exit_code: { status: 502, wire: true, description: "the command exited with a non-zero status" },
  http_error: { status: 502, wire: true, description: "the HTTP request failed" },
  model_error: { status: 502, wire: true, description: "the worker's model call failed" },
  deadline: { status: 504, wire: true, description: "the job passed its deadline without a final status" },
  // Tasks.
  invalid_task: { status: 400, description: "the task request failed its checks (mode, script, mounts, network, timeout, target); the message names the field" },
  invalid_skill: { status: 400, description: "the skill failed its checks (name, tier, command, paths, URL, a SKILL.md or zip); the message names the field" },
  skill_state: { status: 409, description: "the skill cannot do that now: its name is taken, it waits for approval, it is disabled, or approving one already approved" },
  skill_unavailable: { status: 503, description: "the skill's server could not be reached or started (the sandbox, the URL, a missing secret); the message says why" },
  invalid_schedule: { status: 400, description: "the schedule failed its checks (when, time zone, kind, what it runs, policies); the message names the field" },
  schedule_limit: {
    status: 403,
    description:
      "the agent may not create this schedule: it has SCHEDULE_AGENT_MAX already, or it would fire more often than SCHEDULE_AGENT_MIN_INTERVAL_S, or it is not the agent's to change",
  },
  task_state: { status: 409, description: "the task cannot do that now: approving one that is not waiting for approval, cancelling one that has ended" },
  target_unavailable: {
    status: 503,
    description: "the task's target cannot run tasks here: the local sandbox does not work, or Kubernetes is not configured; health and bakerst doctor say why",
  },
  // Companions.
  companion_exists: { status: 409, description: "a companion of that name is already paired (remove it first), or already revoked" },
  companions_unavailable: {
    status: 503,
    description:
      "companions need NATS with the core's own nkey identity (NATS_URL, NATS_CREDS = creds/core.nk from bakerst nats init); health and bakerst doctor say what is missing",
  },
} as const satisfies Record<string, { status: number; wire?: true; description: string }>;

export type ErrorCode = keyof typeof ERRORS;
export type WireErrorCode = { [K in ErrorCode]: (typeof ERRORS)[K] extends { wire: true } ? K : never }[ErrorCode];

/** The codes a job's `failed` status may hold, with their descriptions. */
export const WIRE_ERRORS = Object.fromEntries(Object.entries(ERRORS).flatMap(([code, e]) => ("wire" in e ? [[code, e.description]] : []))) as Record<WireErrorCode, string>;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERRORS, code);
export const isWireErrorCode = (code: string): code is WireErrorCode => isErrorCode(code) && "wire" in ERRORS[code];

export interface WireError {
  code: WireErrorCode;
  message: string;
}

/**
 * A local error: a code from the table and a message for the owner. The HTTP
 * status comes from the table, so one handler maps every error the same way.
 */
export class AppError extends Error {
  override name = "AppError";
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = ERRORS[code].status;
  }
}

/** A job failure; a worker turns it into a `failed` status carrying its code. */
export class JobError extends AppError {
  override name = "JobError";
  constructor(
    override readonly code: WireErrorCode,
    message: string,
    /** Partial output to keep beside the error (a failed command's stdout/stderr). */
    readonly result?: unknown,
  ) {
    super(code, message);
  }

  toWire(): WireError {
    return { code: this.code, message: this.message };
  }

  /** The typed error back from a status that crossed the wire; an unknown code becomes `internal`. */
  static fromWire(w: { code: string; message: string }, result?: unknown): JobError {
    return new JobError(isWireErrorCode(w.code) ? w.code : "internal", w.message, result);
  }
}
