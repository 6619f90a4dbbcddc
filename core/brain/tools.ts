import type { TSchema } from "@sinclair/typebox";
import { type BaseToolContext, type Tool, type ToolOutcome, ToolRegistry } from "../agent/tools.ts";
import { withSpan } from "../telemetry/tracing.ts";
import type { TurnOrigin } from "./origin.ts";

/** What a brain tool gets: the turn it runs in, and a way to report progress into the turn's stream. */
export interface ToolContext extends BaseToolContext {
  conversationId: string;
  turnId: string;
  origin: TurnOrigin;
  /** Lets a tool report progress into the turn's stream (a job's or a task's status). */
  emit: (event: { type: "job" | "task"; id: string; status: string }) => void;
}

export { ToolRegistry } from "../agent/tools.ts";
export type BrainTools = ToolRegistry<ToolContext>;

/** The brain's registry: each tool call is a span inside the turn's, and what the tool does (a job it dispatches) inside that. */
export class BrainToolRegistry extends ToolRegistry<ToolContext> {
  /** `redact` sees every result before the model, the stream or the conversation does (the kernel's replaces every secret the process holds). */
  constructor(private redact: (text: string) => string = (t) => t) {
    super();
  }

  override execute(name: string, input: unknown, ctx: ToolContext): Promise<ToolOutcome> {
    return withSpan(`tool ${name}`, { attributes: { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name } }, async (span) => {
      const raw = await super.execute(name, input, ctx);
      const outcome = { ...raw, content: this.redact(raw.content), summary: this.redact(raw.summary) };
      if (!outcome.ok) span.fail(outcome.summary);
      return outcome;
    });
  }
}

/** A brain tool; areas (jobs, memory, skills...) register theirs with `s.tools.register(defineTool({...}))`. */
export function defineTool<S extends TSchema>(tool: Tool<S, ToolContext>): Tool<S, ToolContext> {
  return tool;
}
