import { type Static, Type } from "@sinclair/typebox";
import { AppError } from "../errors.ts";
import { AgentJob, CommandSyntaxError, check, checkArgv, HttpJob, JOB_TYPES, type JobSpec, MAX_ARG_CHARS, MAX_ARGS, splitCommand } from "../protocol/index.ts";

/** `POST /api/jobs` and the `dispatch_job` tool: the wire job plus `command` as a string. */
const CommandRequest = Type.Object(
  {
    type: Type.Literal("command"),
    command: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ARG_CHARS * 4 })),
    argv: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: MAX_ARG_CHARS }), { minItems: 1, maxItems: MAX_ARGS })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
  },
  { additionalProperties: false },
);
const IdempotencyKey = Type.String({ minLength: 1, maxLength: 200, pattern: "^[\\x21-\\x7e]+$" });
const WithKey = Type.Object({ idempotencyKey: Type.Optional(IdempotencyKey) });
export type JobRequest = Static<typeof CommandRequest> | Static<typeof HttpJob> | Static<typeof AgentJob>;

const invalid = (message: string) => new AppError("invalid_job", message);

const SCHEMAS = { command: CommandRequest, http: HttpJob, agent: AgentJob } as const;

/**
 * Turns an untrusted request into a wire job, or throws a 400 naming the
 * field. Shell syntax in `command` is refused here, before anything is queued.
 */
export function parseJobRequest(raw: unknown, headerKey?: string | null): { spec: JobSpec; idempotencyKey?: string } {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw invalid("body: expected a JSON object with a type (command, http or agent)");
  const { idempotencyKey: bodyKey, ...rest } = raw as Record<string, unknown>;
  const keyCheck = check(WithKey, { idempotencyKey: headerKey ?? bodyKey });
  if (!keyCheck.ok) throw invalid(`idempotencyKey: must be 1-200 printable ASCII characters`);
  const idempotencyKey = (headerKey ?? bodyKey) as string | undefined;
  const type = rest.type;
  if (typeof type !== "string" || !(JOB_TYPES as readonly string[]).includes(type)) {
    throw invalid(`type: ${type === undefined ? "missing" : `unknown job type ${JSON.stringify(type).slice(0, 60)}`}; expected one of ${JOB_TYPES.join(", ")}`);
  }
  const schema = SCHEMAS[type as keyof typeof SCHEMAS];
  const r = check(schema, rest);
  if (!r.ok) throw invalid(r.reason.replace(/^\//, "").replaceAll("/", "."));
  const withKey = (spec: JobSpec) => (idempotencyKey ? { spec, idempotencyKey } : { spec });
  if (r.value.type !== "command") return withKey(r.value as JobSpec);

  const cmd = r.value as Static<typeof CommandRequest>;
  if ((cmd.command === undefined) === (cmd.argv === undefined)) throw invalid('command: give exactly one of "command" (a string) or "argv" (a list)');
  try {
    const argv = cmd.argv ?? splitCommand(cmd.command!);
    if (argv.length > MAX_ARGS) throw invalid(`argv: at most ${MAX_ARGS} arguments`);
    checkArgv(argv);
    return withKey({ type: "command", argv, ...(cmd.timeoutMs ? { timeoutMs: cmd.timeoutMs } : {}) });
  } catch (err) {
    if (err instanceof CommandSyntaxError) throw invalid(err.message);
    throw err;
  }
}
