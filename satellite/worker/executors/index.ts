import { Value } from "@sinclair/typebox/value";
import { CommandJob, HttpJob, JobError, type JobDispatch } from "../../../core/protocol/index.ts";
import { runAgent, type AgentModel, type AgentTool } from "./agent.ts";
import { runCommand, type CommandPolicy } from "./command.ts";
import { runHttp, type HttpPolicy } from "./http.ts";
import type { Redactor } from "./redact.ts";

export interface ExecutorConfig {
  command: CommandPolicy;
  http: HttpPolicy;
  redactor: Redactor;
  /** Undefined when this worker has no model: agent jobs then fail with a clear error. */
  model?: AgentModel;
}

export interface JobOutcome {
  result: unknown;
  usage?: import("../../../core/protocol/index.ts").JobUsage;
}

/** The agent's own tools reuse the command and http executors with the same policies. */
function agentTools(cfg: ExecutorConfig): AgentTool[] {
  const errorsOf = (schema: Parameters<typeof Value.Errors>[0], input: unknown) =>
    [...Value.Errors(schema, input)].slice(0, 3).map((e) => `${e.path || "(input)"}: ${e.message}`).join("; ");
  return [
    {
      name: "run_command",
      description: `Run an allowlisted read-only program without a shell. Allowed: ${[...cfg.command.programs.keys()].join(", ")}; each with its own options (a refusal names the ones allowed).`,
      inputSchema: { type: "object", properties: { argv: { type: "array", items: { type: "string" }, minItems: 1 } }, required: ["argv"] },
      async run(input, signal) {
        const job = { type: "command", ...(input as object) };
        if (!Value.Check(CommandJob, job)) throw new Error(`invalid input: ${errorsOf(CommandJob, job)}`);
        const r = await runCommand(job, cfg.command, cfg.redactor, signal);
        return r.stdout + (r.stderr ? `\n[stderr]\n${r.stderr}` : "");
      },
    },
    {
      name: "http_request",
      description: "Make one HTTP request (cloud metadata addresses are refused).",
      inputSchema: {
        type: "object",
        properties: { url: { type: "string" }, method: { type: "string" }, headers: { type: "object" }, body: { type: "string" } },
        required: ["url"],
      },
      async run(input, signal) {
        const job = { type: "http", ...(input as object) };
        if (!Value.Check(HttpJob, job)) throw new Error(`invalid input: ${errorsOf(HttpJob, job)}`);
        const r = await runHttp(job, cfg.http, cfg.redactor, signal);
        return `HTTP ${r.status}\n${r.body}`;
      },
    },
  ];
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
