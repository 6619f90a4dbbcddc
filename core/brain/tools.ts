import type { TSchema } from "@sinclair/typebox";
import type { BaseToolContext, Tool } from "../agent/tools.ts";
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
export type BrainTools = import("../agent/tools.ts").ToolRegistry<ToolContext>;

/** A brain tool; areas (jobs, memory, skills...) register theirs with `s.tools.register(defineTool({...}))`. */
export function defineTool<S extends TSchema>(tool: Tool<S, ToolContext>): Tool<S, ToolContext> {
  return tool;
}
