import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, type CallToolResult, ErrorCode, ListToolsRequestSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import type { McpTool } from "./tools.ts";

/**
 * An MCP server over the given tools. The HTTP endpoint is stateless, so one
 * is made per request: the SDK's Server is a few maps, and nothing of one
 * client's request may reach another's.
 */
export function mcpServer(tools: McpTool[], version: string): Server {
  const server = new Server(
    { name: "bakerst", title: "Baker Street", version },
    {
      capabilities: { tools: {} },
      instructions: "The owner's personal agent: ask it things (ask), search or add to its long-term memory, run background jobs and sandboxed tasks.",
    },
  );
  const byName = new Map(tools.map((t) => [t.name, t]));
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: tools.map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: t.inputSchema as { type: "object" },
      ...(t.outputSchema ? { outputSchema: t.outputSchema as { type: "object" } } : {}),
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, (request, extra): Promise<CallToolResult> => {
    const tool = byName.get(request.params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `unknown tool ${JSON.stringify(request.params.name.slice(0, 64))}; tools/list names them`);
    return tool.call(request.params.arguments ?? {}, extra.signal);
  });
  return server;
}
