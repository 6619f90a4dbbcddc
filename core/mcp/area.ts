import { HostGuard } from "../api/origin.ts";
import { defineArea } from "../area/types.ts";
import { mcpKeys } from "./keys.ts";
import { mcpRoutes } from "./routes.ts";

/**
 * bakerst as an MCP server: `/mcp` on the API's port and token, and
 * `bakerst mcp --stdio` for clients that start a command. Other programs
 * (Claude Desktop, Claude Code, editors) ask the owner's agent, search and
 * add to its memory, run jobs and tasks. See docs/mcp.md.
 */
export const mcpArea = defineArea({
  name: "mcp",
  config: { keys: mcpKeys },
  start(ctx) {
    const k = ctx.config.read(mcpKeys);
    const guard = new HostGuard({ corsOrigins: ctx.config.corsOrigins, publicUrl: ctx.config.publicUrl, extraHosts: k.MCP_ALLOWED_HOSTS });
    ctx.routes(mcpRoutes(guard));
  },
});
