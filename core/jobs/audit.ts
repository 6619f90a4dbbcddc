import type { AuditEvent } from "../audit/service.ts";
import type { JobSpec } from "../protocol/index.ts";

/** What a program name looks like; anything else (a path, a pasted key, a sentence) is not written down. */
const PROGRAM = /^[A-Za-z0-9._+-]{1,32}$/;

/**
 * A job in a few facts that carry no secret: the program and how many
 * arguments, the HTTP method and host, the length of a prompt. Never
 * arguments, URLs' paths or queries, headers, bodies or prompts.
 */
export function jobSummary(spec: JobSpec): NonNullable<AuditEvent["detail"]> {
  switch (spec.type) {
    case "command": {
      const program = spec.argv[0] ?? "";
      return { type: "command", program: PROGRAM.test(program) ? program : "(not a program name)", args: spec.argv.length - 1 };
    }
    case "http": {
      let host = "(not a URL)";
      try {
        host = new URL(spec.url).hostname;
      } catch {
        // the worker refuses it; the summary says what it was not
      }
      return { type: "http", method: spec.method ?? "GET", host };
    }
    case "agent":
      return { type: "agent", promptChars: spec.prompt.length };
  }
}

/** The field an `invalid_job` message names ("argv: ..." → "argv"), when it is one. */
export function fieldOf(message: string): string | undefined {
  const m = /^([A-Za-z][\w.[\]]{0,39}):/.exec(message);
  return m?.[1];
}
