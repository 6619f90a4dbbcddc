import { Type } from "@sinclair/typebox";
import type { Redactor } from "../../../core/agent/redact.ts";
import { defineTool, ToolRegistry } from "../../../core/agent/tools.ts";
import { HTTP_METHODS, type JobDispatch, JobError, type JobUsage, MAX_ARG_CHARS, MAX_ARGS, MAX_HTTP_BODY_CHARS } from "../../../core/protocol/index.ts";
import { runAgent, type WorkerModel } from "./agent.ts";
import { type CommandPolicy, runCommand } from "./command.ts";
import { type HttpPolicy, runHttp } from "./http.ts";

export interface ExecutorConfig {
  command: CommandPolicy;
  http: HttpPolicy;
  redactor: Redactor;
  /** Undefined when this worker has no model: agent jobs then fail with a clear error. */
  model?: WorkerModel;
}

export interface JobOutcome {
  result: unknown;
  usage?: JobUsage;
}

/** The agent's own tools reuse the command and http executors with the same policies. */
export function agentTools(cfg: ExecutorConfig): ToolRegistry {
  const tools = new ToolRegistry();
  tools.register(
    defineTool({
      name: "run_command",
      description: `Run an allowlisted read-only program without a shell. Allowed: ${[...cfg.command.programs.keys()].join(", ")}; each with its own options (a refusal names the ones allowed).`,
      input: Type.Object(
        { argv: Type.Array(Type.String({ minLength: 1, maxLength: MAX_ARG_CHARS }), { minItems: 1, maxItems: MAX_ARGS, description: "program and arguments" }) },
        { additionalProperties: false },
      ),
      async run(input, { signal }) {
        const r = await runCommand({ type: "command", argv: input.argv }, cfg.command, cfg.redactor, signal);
        return r.stdout + (r.stderr ? `\n[stderr]\n${r.stderr}` : "");
      },
    }),
  );
  tools.register(
    defineTool({
      name: "http_request",
      description: "Make one HTTP request (cloud metadata addresses are refused).",
      input: Type.Object(
        {
          url: Type.String({ minLength: 1, maxLength: 8192 }),
          method: Type.Optional(Type.Union(HTTP_METHODS.map((m) => Type.Literal(m)))),
          headers: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Type.String({ maxLength: 8192 }), { maxProperties: 64 })),
          body: Type.Optional(Type.String({ maxLength: MAX_HTTP_BODY_CHARS })),
        },
        { additionalProperties: false },
      ),
      async run(input, { signal }) {
        const r = await runHttp({ type: "http", ...input }, cfg.http, cfg.redactor, signal);
        return `HTTP ${r.status}\n${r.body}`;
      },
    }),
  );
  return tools;
}

/** Runs one dispatched job; throws a JobError for every way it can fail. */
export async function execute(d: JobDispatch, cfg: ExecutorConfig, signal: AbortSignal): Promise<JobOutcome> {
  switch (d.job.type) {
    case "command":
      return { result: await runCommand(d.job, cfg.command, cfg.redactor, signal) };
    case "http":
      return { result: await runHttp(d.job, cfg.http, cfg.redactor, signal) };
    case "agent": {
      const r = await runAgent(d.job, d.persona, cfg.model, agentTools(cfg), signal);
      return { result: { text: cfg.redactor.redact(r.text), rounds: r.rounds, budgetExhausted: r.budgetExhausted }, usage: r.usage };
    }
    default:
      throw new JobError("invalid_job", `type: unknown job type ${JSON.stringify((d.job as { type?: unknown }).type)}`);
  }
}
