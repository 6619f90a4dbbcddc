/**
 * Errors that cross the wire carry a code and a message; these are the codes a
 * job's `failed` status may hold.
 */
export const WIRE_ERRORS = {
  invalid_job: "the job failed its schema or policy checks and was not run",
  refused: "the job was refused by the worker's policy (allowlist, a program's grammar, the sandbox, host rules)",
  timeout: "the job ran past its timeout and was stopped",
  exit_code: "the command exited with a non-zero status",
  http_error: "the HTTP request failed",
  model_error: "the worker's model call failed",
  deadline: "the job passed its deadline without a final status",
  internal: "the worker failed unexpectedly",
} as const;

export type WireErrorCode = keyof typeof WIRE_ERRORS;

export interface WireError {
  code: WireErrorCode;
  message: string;
}

/** A local error that a worker turns into a `failed` status with this code. */
export class JobError extends Error {
  override name = "JobError";
  constructor(
    readonly code: WireErrorCode,
    message: string,
    /** Partial output to keep beside the error (a failed command's stdout/stderr). */
    readonly result?: unknown,
  ) {
    super(message);
  }
  toWire(): WireError {
    return { code: this.code, message: this.message };
  }
}
