import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { type Static, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { ToolContext } from "../brain/tools.ts";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import { newId } from "../util/ids.ts";

/** What an MCP tool answers: text for the client's model, and for `ask` the structured answer its outputSchema promises. */
export type McpToolResult = CallToolResult;

export interface McpTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  call(args: unknown, signal: AbortSignal): Promise<McpToolResult>;
}

const MAX_ASK_CHARS = 32_000;
const AskInput = Type.Object(
  {
    message: Type.String({ minLength: 1, maxLength: MAX_ASK_CHARS, description: "what to ask or tell the agent" }),
    conversationId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "continue this conversation (from an earlier answer); omit to start one" })),
  },
  { additionalProperties: false },
);
const askCheck = TypeCompiler.Compile(AskInput);
const AskOutput = Type.Object({ answer: Type.String(), conversationId: Type.String() });

/**
 * The owner's agent tools that other programs may call, by their MCP name
 * and the brain tool that does the work: the same schema, input checks,
 * time limits, caps and redaction as when the agent calls them.
 */
const EXPOSED: [mcpName: string, brainTool: string][] = [
  ["memory_search", "memory_search"],
  ["memory_store", "memory_store"],
  ["run_job", "dispatch_job"],
  ["get_job", "get_job"],
  ["list_jobs", "list_jobs"],
  ["run_task", "run_task"],
  ["get_task", "get_task"],
];

const text = (t: string, isError = false): McpToolResult => ({ content: [{ type: "text", text: t }], ...(isError ? { isError: true } : {}) });

/** An error the client's model can read and act on: the code and the message, never a stack. */
const failure = (err: unknown, redact: (t: string) => string): McpToolResult =>
  err instanceof AppError ? text(redact(`${err.code}: ${err.message}`), true) : text("internal: the tool failed unexpectedly; the server's log has the details", true);

/** The tools bakerst's MCP server offers, in a fixed order: `ask`, then the exposed brain tools whose area is installed. */
export function mcpTools(s: Services): McpTool[] {
  const ask: McpTool = {
    name: "ask",
    description:
      "Ask the owner's Baker Street agent: one turn of a conversation, with its memory and tools. Returns its answer and the conversationId to continue with. " +
      "Billed to the owner's daily model budget; refused (budget_exceeded) once that is spent.",
    inputSchema: JSON.parse(JSON.stringify(AskInput)),
    outputSchema: JSON.parse(JSON.stringify(AskOutput)),
    async call(args) {
      if (!askCheck.Check(args)) {
        const e = askCheck.Errors(args).First();
        return text(`invalid_request: ${e?.path || "input"}: ${e?.message ?? "invalid"}`, true);
      }
      const input = args as Static<typeof AskInput>;
      try {
        const turn = s.brain.start({ message: input.message, origin: "mcp", whenBusy: "queue", ...(input.conversationId ? { conversationId: input.conversationId } : {}) });
        const r = await turn.done;
        if (r.error) return text(s.redact(`${r.error.code}: ${r.error.message}`), true);
        const answer = s.redact(r.text);
        return { content: [{ type: "text", text: answer }], structuredContent: { answer, conversationId: r.conversationId } };
      } catch (err) {
        return failure(err, s.redact);
      }
    },
  };
  const brainTools = EXPOSED.flatMap(([name, brainName]): McpTool[] => {
    const spec = s.tools.spec(brainName);
    if (!spec) return [];
    return [
      {
        name,
        description: spec.description,
        inputSchema: spec.inputSchema,
        async call(args, signal) {
          const ctx: ToolContext = { signal, conversationId: "", turnId: `mcp-${newId()}`, origin: "mcp", emit: () => {} };
          // The brain's registry validates the input, times the call out, caps the result and redacts it.
          const outcome = await s.tools.execute(brainName, args ?? {}, ctx);
          return text(outcome.content, !outcome.ok);
        },
      },
    ];
  });
  return [ask, ...brainTools];
}
